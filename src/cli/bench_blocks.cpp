// SPDX-License-Identifier: Apache-2.0
// bench_blocks.cpp — `swarmkeeper bench blocks`, one line per workload:
//   percentiles  P50/P95/P99/P99.9 of 10 k / 100 k / 1 M long-tailed samples: a full
//                sort, the seed's quickselect (one selection per percentile on a copy, as
//                the reference metrics collector does) and ours (record into the collector's
//                histogram, read the snapshot); time each, and ours' largest relative
//                error against the exact values.
//   queue        events/s through the bounded queue with 1 and 4 producers and one
//                consumer; then each policy overfilled (4 producers, no consumer) and
//                whether every drop counter equals the events actually dropped.
//   scheduler    100,000 jobs, 10 % throwing and 10 % cancelled before they run: time,
//                and active_handles() afterwards (must be 0).
//   cache, eviction   see bench_cache.cpp (against a private server unless --url).
#include "cli/bench_blocks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cli/bench_cache.hpp"
#include "cli/private_target.hpp"
#include "swarmkeeper/metrics/collector.hpp"
#include "swarmkeeper/queue/bounded_queue.hpp"
#include "swarmkeeper/sched/scheduler.hpp"

namespace swarmkeeper::cli {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
constexpr double kQs[] = {0.50, 0.95, 0.99, 0.999};

std::size_t rank_of(double q, std::size_t n) {
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)))) - 1;
}

// Hoare-partition quickselect on a copy, one per percentile (the seed's approach).
double quickselect(std::vector<std::uint64_t> v, std::size_t k) {
  std::size_t lo = 0, hi = v.size() - 1;
  std::mt19937 rng(7);
  while (lo < hi) {
    const std::uint64_t pivot = v[lo + rng() % (hi - lo + 1)];
    std::size_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) ++i;
      while (v[j] > pivot) --j;
      if (i <= j) {
        std::swap(v[i], v[j]);
        ++i;
        if (j == 0) break;
        --j;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      break;
  }
  return static_cast<double>(v[k]);
}

nlohmann::json bench_percentiles(bool print) {
  nlohmann::json out;
  double max_err = 0;
  for (std::size_t n : {10'000ul, 100'000ul, 1'000'000ul}) {
    std::mt19937_64 rng(n);
    std::lognormal_distribution<double> dist(10.0, 1.5);
    std::vector<std::uint64_t> samples(n);
    for (auto& v : samples) v = static_cast<std::uint64_t>(dist(rng)) + 1;

    auto t = Clock::now();
    auto sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    double exact[4];
    for (int i = 0; i < 4; ++i) exact[i] = static_cast<double>(sorted[rank_of(kQs[i], n)]);
    const double sort_ms = ms_since(t);

    t = Clock::now();
    double qs[4];
    for (int i = 0; i < 4; ++i) qs[i] = quickselect(samples, rank_of(kQs[i], n));
    const double qs_ms = ms_since(t);

    t = Clock::now();
    metrics::Collector c;
    auto& lat = c.latency("x");
    for (auto v : samples) lat.record(v);
    const auto snap = lat.total();
    double ours[4];
    for (int i = 0; i < 4; ++i) ours[i] = snap.percentile(kQs[i]);
    const double ours_ms = ms_since(t);
    double err = 0;
    for (int i = 0; i < 4; ++i) {
      err = std::max(err, std::abs(ours[i] - exact[i]) / exact[i]);
      if (qs[i] != exact[i]) throw std::logic_error("quickselect disagrees with the sort");
    }
    max_err = std::max(max_err, err);
    const std::string key = n == 10'000 ? "10k" : n == 100'000 ? "100k" : "1m";
    out["ms_" + key] = {{"sort", std::round(sort_ms * 100) / 100},
                        {"quickselect", std::round(qs_ms * 100) / 100},
                        {"ours", std::round(ours_ms * 100) / 100}};
    out["rel_error_" + key] = err;
    if (print)
      std::cout << fmt::format(
          "percentiles {:>9} samples | sort {:8.2f} ms | quickselect x4 {:8.2f} ms | ours {:8.2f} ms "
          "(record + read; {:.3f} % max error)\n",
          n, sort_ms, qs_ms, ours_ms, err * 100);
  }
  out["max_rel_error"] = max_err;
  return out;
}

nlohmann::json bench_queue(bool print) {
  nlohmann::json out;
  constexpr int kEvents = 1'000'000;
  for (int producers : {1, 4}) {
    queue::BoundedQueue<std::uint64_t> q(10'000, queue::OverflowPolicy::block, std::chrono::seconds(5));
    std::uint64_t consumed = 0;
    const auto t = Clock::now();
    std::thread consumer([&] {
      while (q.pop()) ++consumed;
    });
    std::vector<std::thread> ps;
    for (int p = 0; p < producers; ++p)
      ps.emplace_back([&] {
        for (int i = 0; i < kEvents / producers; ++i) q.push(static_cast<std::uint64_t>(i));
      });
    for (auto& th : ps) th.join();
    q.close();
    consumer.join();
    const double s = ms_since(t) / 1000;
    out["events_per_s_" + std::to_string(producers) + "p"] = std::round(static_cast<double>(consumed) / s);
    if (print)
      std::cout << fmt::format("queue       {} producer(s) -> 1 consumer | {:>10.0f} events/s ({} events)\n",
                               producers, static_cast<double>(consumed) / s, consumed);
  }
  bool exact = true;
  for (auto policy : {queue::OverflowPolicy::drop_oldest, queue::OverflowPolicy::drop_newest,
                      queue::OverflowPolicy::block}) {
    queue::BoundedQueue<int> q(1000, policy, std::chrono::milliseconds(1));
    std::atomic<std::uint64_t> refused{0}, evicting{0};
    std::vector<std::thread> ps;
    for (int p = 0; p < 4; ++p)
      ps.emplace_back([&] {
        for (int i = 0; i < (policy == queue::OverflowPolicy::block ? 500 : 50'000); ++i) {
          const auto r = q.push(i);
          if (r == queue::PushResult::dropped || r == queue::PushResult::timed_out) ++refused;
          if (r == queue::PushResult::queued_evicted) ++evicting;
        }
      });
    for (auto& th : ps) th.join();
    const auto st = q.stats();
    const std::uint64_t sent = policy == queue::OverflowPolicy::block ? 2000 : 200'000;
    const std::uint64_t actually_dropped = sent - st.length;  // nothing was consumed
    const bool ok = st.dropped_total() == actually_dropped && st.dropped_newest + st.timed_out == refused &&
                    st.dropped_oldest == evicting && st.high_water <= 1000;
    exact = exact && ok;
    const char* name = policy == queue::OverflowPolicy::drop_oldest   ? "drop_oldest"
                       : policy == queue::OverflowPolicy::drop_newest ? "drop_newest"
                                                                      : "block";
    out["overfill"][name] = {
        {"sent", sent}, {"dropped", st.dropped_total()}, {"kept", st.length}, {"exact", ok}};
    if (print)
      std::cout << fmt::format(
          "queue       overfilled, {:<11} | sent {:>6}, kept {:>4}, dropped {:>6} (counted {:>6}) {}\n", name,
          sent, st.length, actually_dropped, st.dropped_total(), ok ? "exact" : "MISMATCH");
  }
  out["drops_exact"] = exact;
  return out;
}

nlohmann::json bench_scheduler(bool print) {
  sched::Scheduler s({.threads = 2});
  std::vector<sched::JobHandle> handles;
  handles.reserve(100'000);
  const auto t = Clock::now();
  for (int i = 0; i < 100'000; ++i) {
    if (i % 10 == 0) {
      handles.push_back(s.submit([](std::stop_token) { throw std::runtime_error("x"); }));
    } else if (i % 10 == 1) {
      handles.push_back(s.submit([](std::stop_token) {}, {.delay = std::chrono::milliseconds(100)}));
      handles.back().cancel();
    } else {
      handles.push_back(s.submit([](std::stop_token) {}));
    }
  }
  for (auto& h : handles) h.wait();
  const double ms = ms_since(t);
  const auto st = s.stats();
  nlohmann::json out = {{"jobs", 100'000},     {"ms", std::round(ms * 10) / 10},
                        {"failed", st.failed}, {"cancelled", st.cancelled},
                        {"done", st.done},     {"active_handles_after", s.active_handles()}};
  if (print)
    std::cout << fmt::format(
        "scheduler   100,000 jobs (10 % throw, 10 % cancelled) | {:.1f} ms | failed {}, cancelled {}, "
        "done {} | active_handles after: {}\n",
        ms, st.failed, st.cancelled, st.done, s.active_handles());
  return out;
}

}  // namespace

int run_bench_blocks(const BenchBlocksArgs& args) {
  int exit_code = 0;
  auto target = open_target(args.url, "bench blocks", exit_code);  // a bad --url fails before any work
  if (!target) return exit_code;
  nlohmann::json j;
  j["percentiles"] = bench_percentiles(!args.json);
  j["queue"] = bench_queue(!args.json);
  j["scheduler"] = bench_scheduler(!args.json);
  auto cache = bench_cache(target->connection, !args.json);
  if (!cache) {
    std::fprintf(stderr, "swarmkeeper bench blocks: cache: %s\n", cache.error().message().c_str());
    return 1;
  }
  j["cache"] = std::move(*cache);
  if (args.json) std::cout << j.dump() << "\n";
  const bool ok = j["queue"]["drops_exact"].get<bool>() &&
                  j["scheduler"]["active_handles_after"].get<std::size_t>() == 0 &&
                  j["cache"]["stale_reads_after_invalidation"].get<std::uint64_t>() == 0 &&
                  j["cache"]["trusting"]["stale_reads_after_invalidation"].get<std::uint64_t>() == 0;
  return ok ? 0 : 2;
}

}  // namespace swarmkeeper::cli
