// SPDX-License-Identifier: Apache-2.0
// bench_serve.cpp — `swarmkeeper bench serve`, one line per workload, the monitor
// running in this process against a private server:
//   idle     Redis CPU of the probe and the collectors with no census running (10 s at
//            the default 5 s refresh), as a share of wall time (target: ≤ 1 %)
//   census   the reference scenario at N coordinators (6 keys each): how long the census
//            takes at the budget, its Redis CPU against the budget, and /metrics scrapes
//            every 50 ms meanwhile (p50 / p99 / max; target p99 ≤ 10 ms)
//   history  RSS with every series' ring full (720 points, as 1 h at 5 s; filled at a
//            10 ms refresh) (target ≤ 64 MB)
//   sse      50 clients on /events at a 1 s refresh: this process's extra CPU, as a
//            share of one core (target ≤ 5 %)
#include "cli/bench_serve.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "cli/private_target.hpp"
#include "coord/server_info.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/coord/seed.hpp"
#include "swarmkeeper/metrics/process.hpp"
#include "swarmkeeper/monitor/monitor.hpp"

namespace swarmkeeper::cli {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double redis_cpu(SyncClient& c) {
  auto r = c.command(resp::Command("INFO").arg("cpu"));
  return r ? coord::info_cpu_seconds(r->str()) : 0;
}

double process_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double rss_mb() {
  return metrics::resident_memory_bytes() / 1048576.0;
}

int connect_local(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// One GET over a fresh connection; returns the body ("" on failure).
std::string get(std::uint16_t port, const std::string& path) {
  const int fd = connect_local(port);
  if (fd < 0) return "";
  const std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto body = all.find("\r\n\r\n");
  return body == std::string::npos ? "" : all.substr(body + 4);
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

monitor::MonitorOptions base_options(const ConnectionOptions& where) {
  monitor::MonitorOptions o;
  o.connection = where;
  o.listen = "127.0.0.1:0";
  return o;
}

}  // namespace

int run_bench_serve(const BenchServeArgs& args) {
  int exit_code = 0;
  auto target = open_target(args.url, "bench serve", exit_code);
  if (!target) return exit_code;
  ClientOptions co;
  co.connection = target->connection;
  SyncClient redis(co);
  nlohmann::json out;
  const bool print = !args.json;

  // idle: the probe and the collectors, no census (empty keyspace, census every 24 h).
  (void)redis.command(resp::Command("FLUSHALL"));
  {
    auto o = base_options(target->connection);
    o.census_interval = std::chrono::hours(24);
    monitor::Monitor m(o);
    if (auto s = m.start(); !s) {
      std::cerr << "swarmkeeper bench serve: " << s.error().message() << "\n";
      return 1;
    }
    std::this_thread::sleep_for(2s);  // past start-up and the first (empty) census
    const double cpu0 = redis_cpu(redis);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(10s);
    const double share = (redis_cpu(redis) - cpu0) / std::chrono::duration<double>(Clock::now() - t0).count();
    m.stop();
    out["idle_redis_cpu_percent"] = share * 100;
    if (print)
      std::cout << fmt::format(
          "idle      probe + collectors, no census, 5 s refresh | Redis CPU {:.2f} % of wall time (target <= "
          "1 %)\n",
          share * 100);
  }

  // census at N coordinators, with scrapes meanwhile.
  {
    SeedOptions so;
    so.coordinators = args.coordinators;
    so.stale = args.coordinators - args.coordinators / 100;
    const auto s0 = Clock::now();
    auto seeded = seed_scenario(target->connection, so);
    if (!seeded) {
      std::cerr << "swarmkeeper bench serve: seeding: " << seeded.error().message() << "\n";
      return 1;
    }
    if (print)
      std::cout << fmt::format("seeded    {} coordinators ({} keys) in {:.1f} s\n", args.coordinators,
                               seeded->keys_written,
                               std::chrono::duration<double>(Clock::now() - s0).count());
    auto o = base_options(target->connection);
    o.census_budget_percent = args.census_budget;
    o.census_interval = std::chrono::hours(24);
    monitor::Monitor m(o);
    const double cpu0 = redis_cpu(redis);
    const auto t0 = Clock::now();
    if (auto s = m.start(); !s) {
      std::cerr << "swarmkeeper bench serve: " << s.error().message() << "\n";
      return 1;
    }
    const std::string done_line = fmt::format("swarmkeeper_coordinators{{state=\"stale\"}} {}\n", so.stale);
    std::vector<double> scrape_ms;
    bool done = false;
    while (!done && Clock::now() - t0 < 15min) {
      const auto a = Clock::now();
      const std::string body = get(m.port(), "/metrics");
      scrape_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
      done = body.find(done_line) != std::string::npos;
      std::this_thread::sleep_for(50ms);
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = redis_cpu(redis) - cpu0;
    const std::string metrics = m.metrics_text();
    m.stop();
    auto census_value = [&](const std::string& name) {
      const auto at = metrics.find("\n" + name + " ");
      return at == std::string::npos ? 0.0 : std::strtod(metrics.c_str() + at + name.size() + 2, nullptr);
    };
    const double census_s = census_value("swarmkeeper_census_duration_seconds");
    const double census_cpu = census_value("swarmkeeper_census_redis_cpu_seconds");
    out["census"] = {{"coordinators", args.coordinators},
                     {"complete", done},
                     {"seconds", census_s},
                     {"redis_cpu_s", census_cpu},
                     {"redis_cpu_percent_of_census_time", census_s > 0 ? census_cpu / census_s * 100 : 0},
                     {"redis_cpu_s_whole_run", cpu},
                     {"budget_percent", args.census_budget},
                     {"scrapes", scrape_ms.size()},
                     {"scrape_ms_p50", pct(scrape_ms, 0.5)},
                     {"scrape_ms_p99", pct(scrape_ms, 0.99)},
                     {"scrape_ms_max", pct(scrape_ms, 1.0)}};
    if (print)
      std::cout << fmt::format(
          "census    {} coordinators, budget {} % | {} in {:.1f} s (target <= 120 s) | Redis CPU {:.2f} s = "
          "{:.2f} % of the "
          "census' wall time (whole run: {:.2f} s in {:.1f} s) | /metrics during it: {} scrapes, p50 {:.2f} "
          "ms, p99 {:.2f} ms, "
          "max {:.2f} ms (target p99 <= 10 ms)\n",
          args.coordinators, args.census_budget, done ? "done" : "NOT DONE", census_s, census_cpu,
          census_s > 0 ? census_cpu / census_s * 100 : 0, cpu, wall, scrape_ms.size(), pct(scrape_ms, 0.5),
          pct(scrape_ms, 0.99), pct(scrape_ms, 1.0));
  }
  (void)redis.command(resp::Command("FLUSHALL"));

  // history: every ring full (720 points), then RSS.
  {
    auto o = base_options(target->connection);
    o.refresh = 100ms;  // 720 points fill in 72 s at 100 ms; the rings hold what 1 h at 5 s holds
    o.history = 72s;
    o.census_interval = 1s;
    const double before = rss_mb();
    monitor::Monitor m(o);
    if (auto s = m.start(); !s) return 1;
    std::this_thread::sleep_for(75s);
    const double after = rss_mb();
    const auto metrics = m.metrics_text();
    const auto series = std::count(metrics.begin(), metrics.end(), '\n') -
                        2 * std::count(metrics.begin(), metrics.end(), '#') / 2;
    m.stop();
    out["history"] = {
        {"rss_mb", after}, {"rss_mb_before", before}, {"series", series}, {"points_per_series", 720}};
    if (print)
      std::cout << fmt::format(
          "history   ~{} series x 720 points (1 h at 5 s) | process RSS {:.1f} MB (was {:.1f} MB before the "
          "monitor started; target <= 64 MB)\n",
          series, after, before);
  }

  // sse: 50 clients on /events, 1 s refresh: extra CPU of this process.
  {
    auto o = base_options(target->connection);
    o.refresh = 1s;
    o.census_interval = std::chrono::hours(24);
    monitor::Monitor m(o);
    if (auto s = m.start(); !s) return 1;
    std::this_thread::sleep_for(2s);
    auto cpu_over = [&](int clients) {
      std::vector<int> fds;
      std::atomic<bool> stop{false};
      std::atomic<std::uint64_t> bytes{0};
      for (int i = 0; i < clients; ++i) {
        const int fd = connect_local(m.port());
        const std::string req = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        (void)!::write(fd, req.data(), req.size());
        fds.push_back(fd);
      }
      std::thread reader([&] {  // drains every client's stream (as browsers would)
        std::vector<char> buf(1 << 16);
        while (!stop) {
          for (int fd : fds) {
            const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n > 0) bytes += static_cast<std::uint64_t>(n);
          }
          std::this_thread::sleep_for(20ms);
        }
      });
      const double c0 = process_cpu_s();
      const auto t0 = Clock::now();
      std::this_thread::sleep_for(10s);
      const double share = (process_cpu_s() - c0) / std::chrono::duration<double>(Clock::now() - t0).count();
      stop = true;
      reader.join();
      for (int fd : fds) ::close(fd);
      return std::pair{share, bytes.load()};
    };
    const auto [base, b0] = cpu_over(0);
    const auto [with50, b50] = cpu_over(50);
    m.stop();
    out["sse"] = {{"clients", 50},
                  {"process_cpu_percent_without", base * 100},
                  {"process_cpu_percent_with", with50 * 100},
                  {"extra_percent_of_one_core", (with50 - base) * 100},
                  {"bytes_streamed", b50}};
    if (print)
      std::cout << fmt::format(
          "sse       50 clients on /events, 1 s refresh | process CPU {:.2f} % of one core with them, {:.2f} "
          "% "
          "without: +{:.2f} % (target <= 5 %) | {:.1f} MB streamed in 10 s\n",
          with50 * 100, base * 100, (with50 - base) * 100, b50 / 1e6);
  }
  if (args.json) std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace swarmkeeper::cli
