// SPDX-License-Identifier: Apache-2.0
// bench_cache.cpp — the cache lines of `swarmkeeper bench blocks`:
//   cache        L1 hit latency (get() and peek(), strict and trusting hits), the L2
//                round trip of a plain Client GET, and the time from another client's
//                SET until L1 stops serving the old value: median and max of 1,000
//                trials, for strict hits (the default) and for trusting ones; after
//                each invalidation has arrived, 10 reads through the cache, counting
//                any that returns the old value (must be 0).
//   eviction     hit rate of L1's segmented LRU beside a plain LRU of the same size
//                (100,000 keys, Zipf 0.9, 1 M reads, L1 of 5,000 entries), without and
//                with a one-off scan of 20,000 keys every 100,000 reads.
#include "cli/bench_cache.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "cache/l1_store.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/cache/two_tier_cache.hpp"

namespace swarmkeeper::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using net::run_blocking;

double ns_per(Clock::time_point t0, std::size_t n) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(n);
}
double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}
double round2(double x) {
  return std::round(x * 100) / 100;
}
double round3(double x) {
  return std::round(x * 1000) / 1000;
}

struct InvalidationRun {
  std::vector<double> ms;  // SET sent → L1 no longer serves the old value
  std::uint64_t stale_reads = 0;
  std::uint64_t reads = 0;
};

// 1,000 trials: the key in L1 with the old value, another client's SET, then spin on
// peek() until L1 stops serving the old value; once the invalidation has been applied,
// 10 reads through the cache must all see the new value.
Result<InvalidationRun> invalidation_trials(asio::io_context& io, cache::TwoTierCache& c, SyncClient& other,
                                            const std::string& prefix, int trials) {
  InvalidationRun out;
  for (int i = 0; i < trials; ++i) {
    const std::string old_v = "v" + std::to_string(i), new_v = "v" + std::to_string(i + 1);
    if (i == 0) {
      if (auto r = other.command(resp::Command("SET").arg(prefix + "k").arg(old_v)); !r) return r.error();
    }
    // Load until L1 holds the old value (a load that overlaps an invalidation is kept out).
    for (int tries = 0; c.peek("k") != old_v; ++tries) {
      if (tries > 10000) return Error(Errc::timeout, "the cache never held the key in L1 (is tracking up?)");
      auto v = run_blocking(io, c.get("k"));
      if (!v) return v.error();
    }
    const auto applied = c.stats().invalidations_applied;
    const auto t0 = Clock::now();
    auto sent = other.command_async(resp::Command("SET").arg(prefix + "k").arg(new_v));
    const auto deadline = t0 + std::chrono::seconds(5);
    while (c.peek("k") == old_v) {
      if (Clock::now() > deadline)
        return Error(Errc::timeout, "no invalidation within 5 s of another client's SET");
    }
    out.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (auto r = sent.get(); !r) return r.error();
    while (c.stats().invalidations_applied == applied) {
      if (Clock::now() > deadline) return Error(Errc::timeout, "the invalidation was never applied");
      std::this_thread::yield();
    }
    for (int r = 0; r < 10; ++r) {
      auto v = run_blocking(io, c.get("k"));
      if (!v) return v.error();
      ++out.reads;
      if (*v != new_v) ++out.stale_reads;
    }
  }
  return out;
}

struct HitCost {
  double get_ns = 0;
  double peek_ns = 0;
};

HitCost hit_cost(asio::io_context& io, cache::TwoTierCache& c) {
  constexpr std::size_t n = 200'000;
  HitCost h;
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) (void)c.peek("hot");
  h.peek_ns = ns_per(t0, n);
  t0 = Clock::now();
  run_blocking(io, [&]() -> asio::awaitable<int> {
    for (std::size_t i = 0; i < n; ++i) (void)co_await c.get("hot");
    co_return 0;
  }());
  h.get_ns = ns_per(t0, n);
  return h;
}

// Hit rate of an L1 with the given protected share over a Zipf read stream; a miss
// puts the key (as a read-through cache would).
double hit_rate(double protected_share, bool with_scans) {
  cache::L1Store l1(
      cache::L1Limits{.max_entries = 5000, .max_bytes = 1u << 30, .protected_share = protected_share});
  constexpr int keys = 100'000;
  std::vector<double> cdf(keys);
  double sum = 0;
  for (int i = 0; i < keys; ++i) cdf[i] = (sum += 1.0 / std::pow(i + 1, 0.9));
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, sum);
  const auto now = Clock::now(), never = now + std::chrono::hours(1);
  std::uint64_t hits = 0, reads = 0, scan_id = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    if (with_scans && i % 100'000 == 50'000) {
      for (int s = 0; s < 20'000; ++s) {
        const std::string k = "scan" + std::to_string(scan_id++);
        if (!l1.find(k, now)) l1.put(k, "v", never);
      }
    }
    const auto key = std::to_string(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
    ++reads;
    if (l1.find(key, now)) {
      ++hits;
    } else {
      l1.put(key, "v", never);
    }
  }
  return static_cast<double>(hits) / static_cast<double>(reads);
}

}  // namespace

Result<nlohmann::json> bench_cache(const ConnectionOptions& where, bool print) {
  asio::io_context io;
  ClientOptions co;
  co.connection = where;
  co.connection.client_name = "swarmkeeper-bench";
  Client client(io.get_executor(), co);
  SyncClient other(co);
  nlohmann::json out;

  // L2 round trip: a plain Client GET.
  if (auto r = other.command(resp::Command("SET").arg("swarmkeeper:bench:cache:l2").arg("v")); !r)
    return r.error();
  std::vector<double> rtt_us;
  for (int i = 0; i < 2000; ++i) {
    const auto t0 = Clock::now();
    auto v = run_blocking(io, client.get("swarmkeeper:bench:cache:l2"));
    if (!v) return v.error();
    rtt_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  out["l2_rtt_us_p50"] = round2(percentile(rtt_us, 0.5));

  for (bool strict : {true, false}) {
    cache::CacheOptions o;
    o.prefix = strict ? "swarmkeeper:bench:cache:strict:" : "swarmkeeper:bench:cache:trusting:";
    o.strict_hits = strict;
    auto opened = run_blocking(io, cache::TwoTierCache::open(client, o));
    if (!opened) return opened.error();
    auto& c = **opened;
    if (auto r = other.command(resp::Command("SET").arg(o.prefix + "hot").arg("value")); !r) return r.error();
    for (int tries = 0; !c.peek("hot"); ++tries) {
      if (tries > 10000) return Error(Errc::timeout, "the cache never held the key in L1");
      (void)run_blocking(io, c.get("hot"));
    }
    const HitCost h = hit_cost(io, c);
    auto inv = invalidation_trials(io, c, other, o.prefix, 1000);
    if (!inv) return inv.error();
    const double p50 = percentile(inv->ms, 0.5), mx = percentile(inv->ms, 1.0);
    const auto st = c.stats();
    const char* name = strict ? "strict" : "trusting";
    out[name] = {{"l1_get_ns", round2(h.get_ns)},
                 {"l1_peek_ns", round2(h.peek_ns)},
                 {"invalidation_ms_p50", round3(p50)},
                 {"invalidation_ms_max", round3(mx)},
                 {"stale_reads_after_invalidation", inv->stale_reads},
                 {"reads_after_invalidation", inv->reads},
                 {"guard_trips", st.guard_trips}};
    if (strict) {  // the default: the headline fields
      out["l1_hit_ns"] = round2(h.get_ns);
      out["invalidation_ms_p50"] = out[name]["invalidation_ms_p50"];
      out["invalidation_ms_max"] = out[name]["invalidation_ms_max"];
      out["stale_reads_after_invalidation"] = inv->stale_reads;
    }
    if (print)
      std::cout << fmt::format(
          "cache       {:8} hits | L1 hit: get() {:.0f} ns, peek() {:.0f} ns | L2 GET round trip {:.1f} us | "
          "another client's SET until L1 stops serving the old value: p50 {:.3f} ms, max {:.3f} ms (1,000 "
          "trials) | "
          "stale reads after the invalidation arrived: {} of {}\n",
          name, h.get_ns, h.peek_ns, percentile(rtt_us, 0.5), p50, mx, inv->stale_reads, inv->reads);
    if (auto cleared = run_blocking(io, c.clear_all()); !cleared) return cleared.error();
  }

  const double lru = hit_rate(0.0, false), slru = hit_rate(0.8, false);
  const double lru_scan = hit_rate(0.0, true), slru_scan = hit_rate(0.8, true);
  out["hit_rate"] = {{"lru", round3(lru)},
                     {"slru", round3(slru)},
                     {"lru_with_scans", round3(lru_scan)},
                     {"slru_with_scans", round3(slru_scan)}};
  if (print)
    std::cout << fmt::format(
        "eviction    Zipf 0.9 over 100,000 keys, L1 of 5,000 | hit rate: LRU {:.1f} %, segmented LRU (ours) "
        "{:.1f} % | "
        "with a 20,000-key scan every 100,000 reads: LRU {:.1f} %, ours {:.1f} %\n",
        lru * 100, slru * 100, lru_scan * 100, slru_scan * 100);
  (void)other.command(resp::Command("DEL").arg("swarmkeeper:bench:cache:l2"));
  client.close();
  return out;
}

}  // namespace swarmkeeper::cli
