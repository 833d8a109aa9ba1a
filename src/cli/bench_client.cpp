// SPDX-License-Identifier: Apache-2.0
// bench_client.cpp — see bench_client.hpp.
//
// Workloads (one Client, one I/O thread, C coroutines as callers):
//   get-set:      each op is GET k or SET k<i%100> <32 bytes>, alternating on a shared op
//                 counter — the same workload as peer_ioredis.js.
//   latency:      100 sequential task assignments (SET of a ~500-byte task JSON + GET).
//   pool:         200 callers x 20 ops: the pool's acquire latency.
//   batch:        MSET of 100-item batches for 1 s: items/s.
//   compression:  4 KB JSON-like values: share of bytes saved.
//   concurrent:   --concurrency callers for --seconds, get-set.
//   recovery:     (private server only) 1,000 sequential writes with a server restart after
//                 the 300th; every acknowledged write must be there afterwards (AOF on).
//   stress:       500 callers for 1 s: error rate.
//   memory:       200 idle connections, each used once: RSS growth per connection.
// Score (the client validation suite's weights): latency 0.35, reliability 0.25, throughput 0.25,
// efficiency 0.15; pass at >= 93 %.
#include "cli/bench_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/private_target.hpp"
#include "net/redis_process.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/client/router.hpp"
#include "swarmkeeper/client/threaded_client.hpp"
#include "swarmkeeper/metrics/histogram.hpp"
#include "swarmkeeper/metrics/process.hpp"

namespace swarmkeeper::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct LoadResult {
  std::uint64_t ops = 0, errors = 0;
  double seconds = 0;
  metrics::Histogram::Snapshot latency_ns;
  double ops_per_s() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
  static LoadResult since(Clock::time_point t0, std::uint64_t ops, std::uint64_t errors,
                          const metrics::Histogram& h) {
    LoadResult r;
    r.ops = ops;
    r.errors = errors;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.latency_ns = h.snapshot();
    return r;
  }
};

// C callers doing the get-set mix on one client (one server's or a cluster's) until
// `seconds` pass.
LoadResult get_set_load(asio::io_context& io, Router& client, int callers, double seconds) {
  metrics::Histogram hist;
  std::uint64_t ops = 0, errors = 0;
  int running = callers;
  const std::string value(32, 'v');
  const auto end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const auto t0 = Clock::now();
  for (int i = 0; i < callers; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          const std::string mine = "k" + std::to_string(i % 100);
          while (Clock::now() < end) {
            const auto s = Clock::now();
            bool ok;
            if (ops % 2)
              ok = static_cast<bool>(co_await client.get("k"));
            else
              ok = static_cast<bool>(co_await client.set(mine, value));
            hist.record(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - s).count()));
            ++ops;
            errors += !ok;
          }
          --running;
        },
        asio::detached);
  }
  io.restart();
  while (running > 0) io.run_one();
  return LoadResult::since(t0, ops, errors, hist);
}

// C callers doing the get-set mix through a ThreadedClient: each caller runs on one of its
// I/O threads (round-robin) and uses that thread's Client, so no command crosses threads.
LoadResult threaded_get_set_load(ThreadedClient& client, int callers, double seconds) {
  metrics::Histogram hist;
  std::atomic<std::uint64_t> ops{0}, errors{0};
  std::atomic<int> running{callers};
  const std::string value(32, 'v');
  const auto end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const auto t0 = Clock::now();
  for (int i = 0; i < callers; ++i) {
    client.spawn([&, i]() -> asio::awaitable<void> {
      const std::string mine = "k" + std::to_string(i % 100);
      // One clock read an op: each op's end is the next one's start.
      auto s = Clock::now();
      for (std::uint64_t n = static_cast<std::uint64_t>(i); s < end; ++n) {
        bool ok;
        if (n % 2)
          ok = static_cast<bool>(co_await client.get("k"));
        else
          ok = static_cast<bool>(co_await client.set(mine, value));
        const auto e = Clock::now();
        hist.record(
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(e - s).count()));
        s = e;
        ops.fetch_add(1, std::memory_order_relaxed);
        if (!ok) errors.fetch_add(1, std::memory_order_relaxed);
      }
      running.fetch_sub(1);
    });
  }
  while (running.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return LoadResult::since(t0, ops, errors, hist);
}

double ms(double ns) {
  return ns / 1e6;
}

std::string task_json(int i) {
  std::string s = fmt::format(
      R"({{"taskId":"task-{}","type":"analysis","priority":{},"assignedTo":"agent-{}","payload":{{)", i,
      i % 5, i % 13);
  while (s.size() < 480) s += fmt::format(R"("f{}":"value-{}",)", s.size(), i);
  return s + R"("end":true}})";
}

}  // namespace

namespace {

// The get-set mix through a router (a cluster's; peer: bench/peer_ioredis_cluster.js).
int routed_get_set(asio::io_context& io, Router& client, const BenchClientArgs& args) {
  if (auto s = net::run_blocking(io, client.set("k", std::string(32, 'v'))); !s) {
    std::cerr << "swarmkeeper bench: " << s.error().message() << "\n";
    client.close();
    return 1;
  }
  auto r = get_set_load(io, client, args.concurrency, args.seconds);
  const nlohmann::json j = {{"client", "swarmkeeper-cluster"},
                            {"masters", client.masters().size()},
                            {"conc", args.concurrency},
                            {"ops_per_s", std::llround(r.ops_per_s())},
                            {"p50_ms", fmt::format("{:.3f}", ms(r.latency_ns.percentile(0.5)))},
                            {"p99_ms", fmt::format("{:.3f}", ms(r.latency_ns.percentile(0.99)))},
                            {"errors", r.errors},
                            {"ports", [&] {
                               nlohmann::json p = nlohmann::json::array();
                               for (const auto& m : client.masters()) p.push_back(m.port);
                               return p;
                             }()}};
  std::cout << j.dump() << "\n";
  client.close();
  io.run_for(std::chrono::milliseconds(50));
  return r.errors == 0 ? 0 : 2;
}

}  // namespace

int run_bench_client(const BenchClientArgs& args) {
  int exit_code = 0;
  std::unique_ptr<RedisCluster> own_cluster;
  std::optional<cli::Target> target;
  if (args.cluster && !args.url) {  // a private three-master cluster
    auto c = RedisCluster::start(3);
    if (!c) {
      std::cerr << "swarmkeeper bench: " << c.error().message() << "\n";
      return 1;
    }
    own_cluster = std::move(*c);
    target.emplace();
    target->connection.port = own_cluster->nodes().front()->port();
    target->connection.cluster = true;
  } else {
    target = open_target(args.url, "bench", exit_code);
    if (!target) return exit_code;
    target->connection.cluster = target->connection.cluster || args.cluster;
  }
  ClientOptions opts;
  opts.connection = target->connection;
  opts.connection.client_name = "swarmkeeper-bench";
  if (args.connections > 0) opts.max_connections = static_cast<std::size_t>(args.connections);
  asio::io_context io;
  // A plain URL may name a cluster node: then the cluster is benchmarked, as cleanup,
  // seed and serve take the same URL.
  auto router = net::run_blocking(io, open_router(io.get_executor(), opts));
  if (!router) {
    std::cerr << "swarmkeeper bench: " << router.error().message() << "\n";
    return 1;
  }
  // The full report needs one server's pool (leases, pool metrics, a restart); a
  // cluster gets the get-set mix.
  if (dynamic_cast<Client*>(router->get()) == nullptr) return routed_get_set(io, **router, args);
  std::unique_ptr<Client> client(static_cast<Client*>(router->release()));
  if (auto s = net::run_blocking(io, client->set("k", std::string(32, 'v'))); !s) {
    std::cerr << "swarmkeeper bench: " << s.error().message() << "\n";
    return 1;
  }

  if (args.mix == "get-set") {
    // The callers on the client's I/O threads (--threads, default one per core).
    client->close();
    client.reset();
    ThreadedClient threaded(opts, static_cast<std::size_t>(args.threads),
                            std::chrono::microseconds(args.busy_poll_us));
    auto r = threaded_get_set_load(threaded, args.concurrency, args.seconds);
    const nlohmann::json j = {{"client", "swarmkeeper"},
                              {"conc", args.concurrency},
                              {"threads", threaded.threads()},
                              {"busy_poll_us", args.busy_poll_us},
                              {"ops_per_s", std::llround(r.ops_per_s())},
                              {"p50_ms", fmt::format("{:.3f}", ms(r.latency_ns.percentile(0.5)))},
                              {"p99_ms", fmt::format("{:.3f}", ms(r.latency_ns.percentile(0.99)))},
                              {"errors", r.errors},
                              {"mean_batch", std::round(threaded.metrics().mean_batch() * 10) / 10}};
    std::cout << j.dump() << "\n";
    return r.errors == 0 ? 0 : 2;
  }

  nlohmann::ordered_json report;
  // 1. Task-assignment latency.
  metrics::Histogram lat;
  std::uint64_t lat_errors = 0;
  for (int i = 0; i < 100; ++i) {
    const auto t0 = Clock::now();
    const std::string key = "task:" + std::to_string(i);
    bool ok = static_cast<bool>(net::run_blocking(io, client->set(key, task_json(i))));
    auto back = net::run_blocking(io, client->get(key));
    ok = ok && back && *back;
    lat.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
    lat_errors += !ok;
  }
  const double p95_ms = ms(lat.snapshot().percentile(0.95));
  report["latency"] = {{"ops", 100},           {"p50_ms", ms(lat.snapshot().percentile(0.5))},
                       {"p95_ms", p95_ms},     {"target_p95_ms", 100},
                       {"errors", lat_errors}, {"pass", p95_ms < 100 && lat_errors == 0}};
  // 2. Pool efficiency under contention.
  auto pool_load = get_set_load(io, *client, 200, 1.0);
  const auto pool = client->metrics().pool;
  const double acquire_p95_ms = ms(pool.acquire_ns.percentile(0.95));
  report["pool"] = {{"callers", 200},
                    {"acquire_p95_ms", acquire_p95_ms},
                    {"target_ms", 50},
                    {"connections_open", pool.open},
                    {"errors", pool_load.errors},
                    {"pass", acquire_p95_ms < 50 && pool_load.errors == 0}};
  // 3. Batch throughput: 100-item MSETs for 1 s.
  std::uint64_t items = 0, batch_errors = 0;
  const auto b0 = Clock::now();
  for (int round = 0; Clock::now() - b0 < std::chrono::seconds(1); ++round) {
    std::vector<std::pair<std::string, std::string>> batch;
    for (int i = 0; i < 100; ++i)
      batch.emplace_back("batch:" + std::to_string(i), "item-" + std::to_string(round));
    batch_errors += !net::run_blocking(io, client->mset(std::move(batch)));
    items += 100;
  }
  const double items_per_s =
      static_cast<double>(items) / std::chrono::duration<double>(Clock::now() - b0).count();
  report["batch"] = {{"items_per_s", std::llround(items_per_s)},
                     {"target_ops_per_s", 500},
                     {"errors", batch_errors},
                     {"pass", items_per_s >= 500 && batch_errors == 0}};
  // 4. Compression of 4 KB JSON-like values.
  const auto before = client->metrics().compression;
  for (int i = 0; i < 200; ++i) {
    std::string v = "[";
    while (v.size() < 4096) v += task_json(i) + ",";
    v.resize(4095);
    v += "]";
    (void)net::run_blocking(io, client->set("blob:" + std::to_string(i), v));
  }
  auto after = client->metrics().compression;
  const double saved = after.bytes_before > before.bytes_before
                           ? 1.0 - static_cast<double>(after.bytes_after - before.bytes_after) /
                                       static_cast<double>(after.bytes_before - before.bytes_before)
                           : 0;
  report["compression"] = {
      {"values", 200}, {"value_bytes", 4096}, {"saved", saved}, {"target", 0.40}, {"pass", saved >= 0.40}};
  // 5. Concurrent load.
  auto load = get_set_load(io, *client, args.concurrency, args.seconds);
  report["concurrent"] = {{"callers", args.concurrency},
                          {"seconds", args.seconds},
                          {"ops_per_s", std::llround(load.ops_per_s())},
                          {"p50_ms", ms(load.latency_ns.percentile(0.5))},
                          {"p99_ms", ms(load.latency_ns.percentile(0.99))},
                          {"errors", load.errors},
                          {"pass", load.errors == 0}};
  // 6. Recovery across a server restart (private server only: it must be ours to restart).
  double reliability =
      load.errors == 0 ? 1.0 : 1.0 - static_cast<double>(load.errors) / static_cast<double>(load.ops);
  if (target->server) {
    // A server of its own with the AOF fsynced on every write, so a restart keeps what
    // was acknowledged (the throughput runs above stay free of fsync).
    auto durable = RedisProcess::start({.extra_args = {"--appendonly", "yes", "--appendfsync", "always"}});
    if (!durable) {
      report["recovery"] = {{"error", durable.error().message()}, {"pass", false}};
      reliability = 0;
    } else {
      ClientOptions dopts = opts;
      dopts.connection.port = (*durable)->port();
      Client dclient(io.get_executor(), dopts);
      std::vector<int> acked;
      int failed = 0;
      for (int i = 0; i < 1000; ++i) {
        if (i == 300) (void)(*durable)->restart();
        if (net::run_blocking(io, dclient.set("durable:" + std::to_string(i), std::to_string(i))))
          acked.push_back(i);
        else
          ++failed;
      }
      int lost = 0;
      for (int i : acked) {
        auto v = net::run_blocking(io, dclient.get("durable:" + std::to_string(i)));
        lost += !(v && *v && **v == std::to_string(i));
      }
      dclient.close();
      report["recovery"] = {{"writes", 1000},
                            {"acknowledged", acked.size()},
                            {"failed_during_restart", failed},
                            {"acknowledged_lost", lost},
                            {"pass", lost == 0 && acked.size() >= 990}};
      reliability = std::min(reliability, lost == 0 ? static_cast<double>(acked.size()) / 1000.0 : 0.0);
    }
  } else {
    report["recovery"] = {{"skipped", "needs a private server (no --url) to restart"}};
  }
  // 8. Memory: 200 idle connections (each used once), RSS growth per connection.
  {
    ClientOptions mopts = opts;
    mopts.max_connections = 210;
    Client mem_client(io.get_executor(), mopts);
    (void)net::run_blocking(io, mem_client.command(resp::Command("PING")));
    const double before_rss = metrics::resident_memory_bytes();
    std::vector<Client::Lease> leases;
    for (int i = 0; i < 200; ++i) {
      auto l = net::run_blocking(io, mem_client.lease());
      if (!l) break;
      (void)net::run_blocking(io, l->exec(resp::Command("GET").arg("k")));
      leases.push_back(std::move(*l));
    }
    const double per_conn =
        leases.empty() ? 0
                       : (metrics::resident_memory_bytes() - before_rss) / static_cast<double>(leases.size());
    report["memory"] = {{"idle_connections", leases.size()},
                        {"bytes_per_connection", std::llround(per_conn)},
                        {"target_bytes", 65536},
                        {"pass", !leases.empty() && per_conn <= 65536}};
    leases.clear();
    mem_client.close();
    io.restart();
    io.poll();
  }
  // 7. Stress.
  auto stress = get_set_load(io, *client, 500, 1.0);
  report["stress"] = {{"callers", 500},
                      {"ops_per_s", std::llround(stress.ops_per_s())},
                      {"errors", stress.errors},
                      {"p99_ms", ms(stress.latency_ns.percentile(0.99))},
                      {"pass", stress.errors == 0}};
  reliability = std::min(
      reliability,
      stress.errors == 0 ? 1.0 : 1.0 - static_cast<double>(stress.errors) / static_cast<double>(stress.ops));

  const double latency_score = p95_ms < 100 ? 1.0 : 100.0 / p95_ms;
  const double throughput_score = std::min(1.0, items_per_s / 500.0);
  const double efficiency_score =
      0.5 * (acquire_p95_ms < 50 ? 1.0 : 50.0 / acquire_p95_ms) + 0.5 * std::min(1.0, saved / 0.40);
  const double score =
      0.35 * latency_score + 0.25 * reliability + 0.25 * throughput_score + 0.15 * efficiency_score;
  report["score"] = {
      {"latency", latency_score},       {"reliability", reliability}, {"throughput", throughput_score},
      {"efficiency", efficiency_score}, {"confidence", score},        {"pass", score >= 0.93}};
  if (args.json) {
    std::cout << report.dump() << "\n";
  } else {
    for (auto& [name, v] : report.items()) std::cout << fmt::format("{:<12} {}\n", name, v.dump());
    std::cout << fmt::format("confidence {:.1f} % -> {}\n", score * 100,
                             score >= 0.93 ? "PASS (>= 93 %)" : "FAIL (< 93 %)");
  }
  client->close();
  io.run();
  return score >= 0.93 ? 0 : 2;
}

}  // namespace swarmkeeper::cli
