// SPDX-License-Identifier: Apache-2.0
// bench_cleanup.cpp — see bench_cleanup.hpp.
//
// Workload per size N: the reference scenario (N coordinators, 99 % stale, 6 keys each),
// then one cleanup. Figures: wall time of the whole cleanup process, coordinators/s,
// server CPU the run cost (INFO used_cpu_sys + used_cpu_user delta; the probe's own
// ~1,000 PINGs/s are included), the longest reply time a concurrent probe saw (PING every
// 1 ms; on 2 cores this includes the probe's own scheduling delays), the longest event in
// Redis' own latency monitor (srv max, whole ms: server-side truth), the child's peak RSS,
// and whether 100 % of stale and 0 % of active keys went. Beside it, on the same data
// and server: the floor pass (run_floor: no re-check, the least work a correct cleanup
// makes Redis do; ours as a ratio of its Redis CPU) and the reference cleanup script.
#include "cli/bench_cleanup.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>

#include "cli/private_target.hpp"
#include "coord/server_info.hpp"
#include "net/connection.hpp"
#include "net/redis_process.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/coord/key_schema.hpp"
#include "swarmkeeper/coord/seed.hpp"

namespace swarmkeeper::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A blocking helper connection for the bench's own commands.
class Admin {
 public:
  explicit Admin(ConnectionOptions o) {
    o.client_name = "swarmkeeper-bench";
    o.command_timeout = std::chrono::milliseconds(600000);
    auto c = net::run_blocking(io_, net::Connection::open(io_.get_executor(), o));
    if (c)
      conn_ = *c;
    else
      error_ = c.error().message();
  }
  bool ok() const { return conn_ != nullptr; }
  const std::string& error() const { return error_; }
  Result<resp::Reply> cmd(const resp::Command& c) { return net::run_blocking(io_, conn_->exec(c)); }
  /// Arms Redis' latency monitor (events >= 1 ms); false if CONFIG is refused.
  bool latency_reset() {
    return cmd(resp::Command("CONFIG").arg("SET").arg("latency-monitor-threshold").arg(1)) &&
           cmd(resp::Command("LATENCY").arg("RESET"));
  }
  /// The longest event the latency monitor saw since the reset, in ms (0: none >= 1 ms).
  std::pair<double, std::string> latency_max() {
    auto r = cmd(resp::Command("LATENCY").arg("LATEST"));
    std::pair<double, std::string> worst{0, ""};
    if (!r) return {-1, ""};
    for (resp::ReplyRef e : r->root())
      if (e.size() >= 4 && static_cast<double>(e[3].integer()) > worst.first)
        worst = {static_cast<double>(e[3].integer()), std::string(e[0].str())};
    return worst;
  }
  double cpu_seconds() {
    auto r = cmd(resp::Command("INFO").arg("cpu"));
    return r ? coord::info_cpu_seconds(r->str()) : 0;
  }

 private:
  asio::io_context io_;
  std::shared_ptr<net::Connection> conn_;
  std::string error_;
};

// PINGs every 1 ms on its own thread and connection; records the slowest reply.
class StallProbe {
 public:
  explicit StallProbe(ConnectionOptions o) : opts_(std::move(o)) {
    opts_.client_name = "swarmkeeper-probe";
    opts_.command_timeout = std::chrono::milliseconds(600000);
    thread_ = std::thread([this] { run(); });
    while (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  /// Stops the probe; returns the longest PING round trip seen, in ms.
  double stop() {
    stop_ = true;
    thread_.join();
    return max_ms_;
  }

 private:
  void run() {
    asio::io_context io;
    auto conn = net::run_blocking(io, net::Connection::open(io.get_executor(), opts_));
    ready_ = true;
    if (!conn) return;
    asio::steady_timer timer(io);
    bool refused = false;  // -BUSY: a script holds the server
    Clock::time_point refused_since{};
    while (!stop_) {
      const auto t0 = Clock::now();
      auto r = net::run_blocking(io, (*conn)->exec(resp::Command("PING")));
      if (!r && r.error().code() != Errc::server_busy) return;
      if (!r) {
        if (!refused) refused_since = t0;
        refused = true;
      } else {
        // The stall is from the first refused PING (if any) to this answer.
        max_ms_ = std::max(max_ms_, ms_between(refused ? refused_since : t0, Clock::now()));
        refused = false;
      }
      timer.expires_at(t0 + std::chrono::milliseconds(1));
      net::run_blocking(io, [&]() -> asio::awaitable<int> {
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return 0;
      }());
    }
  }
  ConnectionOptions opts_;
  std::thread thread_;
  std::atomic<bool> ready_{false}, stop_{false};
  double max_ms_ = 0;
};

struct Run {
  bool ran = false;
  std::string skipped;  // why not run
  double wall_ms = 0, redis_cpu_ms = 0, max_stall_ms = 0, rss_mb = 0;
  double server_max_ms = -1;  // longest event in Redis' own latency monitor (-1: unknown)
  std::string server_max_event;
  std::uint64_t keys_deleted = 0;
  bool verified = false;
  std::string error;
};

// Runs `self cleanup --url URL --json --no-log --recheck MODE` as a child; captures its
// JSON. Server CPU is summed over `admins` (every master of a cluster); the probe PINGs
// the first one.
Run run_ours(const std::string& self, const std::string& url, const std::string& mode,
             const std::vector<Admin*>& admins, const ConnectionOptions& probed) {
  Run run;
  int out[2];
  if (::pipe(out) != 0) return run;
  bool monitored = true;
  for (Admin* a : admins) monitored = a->latency_reset() && monitored;
  auto cpu = [&] {
    double total = 0;
    for (Admin* a : admins) total += a->cpu_seconds();
    return total;
  };
  StallProbe probe(probed);
  const double cpu0 = cpu();
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    const char* argv[] = {self.c_str(), "cleanup",   "--url",      url.c_str(), "--json",
                          "--no-log",   "--recheck", mode.c_str(), nullptr};
    ::execv(self.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string json;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) json.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  run.wall_ms = ms_between(t0, Clock::now());
  run.max_stall_ms = probe.stop();
  run.redis_cpu_ms = (cpu() - cpu0) * 1000;
  run.rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  if (monitored)
    for (Admin* a : admins)
      if (auto worst = a->latency_max(); worst.first > run.server_max_ms)
        std::tie(run.server_max_ms, run.server_max_event) = worst;
  run.ran = true;
  try {
    auto j = nlohmann::json::parse(json);
    run.keys_deleted = j.at("keysDeleted").get<std::uint64_t>();
    if (!j.at("errors").empty()) run.error = j.at("errors")[0].get<std::string>();
  } catch (const std::exception& e) {
    run.error = "cleanup exited with status " + std::to_string(WEXITSTATUS(status)) + " and no report";
  }
  return run;
}

Run run_peer(const std::string& script, const ConnectionOptions& conn, Admin& admin) {
  Run run;
  const bool monitored = admin.latency_reset();
  StallProbe probe(conn);
  const double cpu0 = admin.cpu_seconds();
  const auto t0 = Clock::now();
  auto r = admin.cmd(resp::Command("EVAL").arg(script).arg(0).arg(600).arg(0));
  run.wall_ms = ms_between(t0, Clock::now());
  run.max_stall_ms = probe.stop();
  run.redis_cpu_ms = (admin.cpu_seconds() - cpu0) * 1000;
  if (monitored) std::tie(run.server_max_ms, run.server_max_event) = admin.latency_max();
  run.ran = true;
  if (!r) {
    run.error = r.error().message();
  } else {
    try {
      run.keys_deleted = nlohmann::json::parse(r->str()).value("keysDeleted", std::uint64_t{0});
    } catch (...) {
      run.error = "unreadable result: " + std::string(r->str().substr(0, 80));
    }
  }
  return run;
}

// The floor pass (in C++ on our connection): one SCAN
// (COUNT 2000), heartbeat MGET (1,000), pipelined UNLINK (500), no re-check at all — the
// least work any correct cleanup of the reference scenario makes Redis do. Compare its Redis
// CPU, not its wall time.
Run run_floor(const ConnectionOptions& conn, Admin& admin) {
  Run run;
  asio::io_context io;
  ConnectionOptions o = conn;
  o.command_timeout = std::chrono::milliseconds(600000);
  auto c = net::run_blocking(io, net::Connection::open(io.get_executor(), o));
  if (!c) {
    run.error = c.error().message();
    return run;
  }
  auto exec = [&](const resp::Command& cmd) { return net::run_blocking(io, (*c)->exec(cmd)); };
  const double cpu0 = admin.cpu_seconds();
  const auto t0 = Clock::now();
  const KeySchema schema;
  std::vector<std::string> heartbeats, others;
  std::string cursor = "0";
  do {
    auto r = exec(resp::Command("SCAN").arg(cursor).arg("COUNT").arg(2000));
    if (!r) {
      run.error = r.error().message();
      return run;
    }
    cursor = std::string((*r)[0].str());
    for (resp::ReplyRef k : (*r)[1])
      (schema.heartbeat_id(k.str()) ? heartbeats : others).emplace_back(k.str());
  } while (cursor != "0");
  auto now = exec(resp::Command("TIME"));
  const auto server_ms = now ? resp::time_ms(now->root()) : std::nullopt;
  if (!server_ms) {
    run.error = now ? "TIME returned " + resp::to_string(now->root()) : now.error().message();
    return run;
  }
  const std::int64_t now_ms = *server_ms;
  std::unordered_set<std::string> stale;
  for (std::size_t i = 0; i < heartbeats.size(); i += 1000) {
    resp::Command mget("MGET");
    for (std::size_t j = i; j < std::min(heartbeats.size(), i + 1000); ++j) mget.arg(heartbeats[j]);
    auto r = exec(mget);
    if (!r) {
      run.error = r.error().message();
      return run;
    }
    std::size_t j = i;
    for (resp::ReplyRef v : r->root()) {
      if (!v.is_null() && judge_heartbeat(v.str(), schema, now_ms, 600000) == HeartbeatState::stale)
        stale.insert(std::string(*schema.heartbeat_id(heartbeats[j])));
      ++j;
    }
  }
  std::vector<std::string> dels;
  for (const auto& id : stale) dels.push_back(schema.heartbeat_key(id));
  for (const auto& k : others) {  // the reference layout: the id is the third ':' field
    const KeyFamily* f = schema.family_of(k);
    if (f == nullptr) continue;
    std::string_view rest = std::string_view(k).substr(f->prefix.size());
    if (f->match != KeyFamily::Match::exact) rest = rest.substr(0, rest.find(':'));
    if (stale.count(std::string(rest))) dels.push_back(k);
  }
  resp::Pipeline p;
  for (std::size_t i = 0; i < dels.size(); i += 500) {
    resp::Command unlink("UNLINK");
    for (std::size_t j = i; j < std::min(dels.size(), i + 500); ++j) unlink.arg(dels[j]);
    p.add(unlink);
  }
  auto r = net::run_blocking(io, (*c)->exec(p));
  if (r)
    for (const auto& n : *r) run.keys_deleted += static_cast<std::uint64_t>(n.integer());
  run.wall_ms = ms_between(t0, Clock::now());
  run.redis_cpu_ms = (admin.cpu_seconds() - cpu0) * 1000;
  run.ran = true;
  (*c)->close();
  io.run();
  return run;
}

nlohmann::json to_json(const Run& r) {
  nlohmann::json j;
  if (!r.ran) {
    j["skipped"] = r.skipped;
    return j;
  }
  j = {{"wallMs", std::round(r.wall_ms * 10) / 10},
       {"redisCpuMs", std::round(r.redis_cpu_ms * 10) / 10},
       {"maxStallMs", std::round(r.max_stall_ms * 100) / 100},
       {"keysDeleted", r.keys_deleted},
       {"verified", r.verified}};
  if (r.rss_mb > 0) j["peakRssMb"] = std::round(r.rss_mb * 10) / 10;
  if (r.server_max_ms >= 0) j["serverMaxEventMs"] = r.server_max_ms, j["serverMaxEvent"] = r.server_max_event;
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

// --cluster: the same scenario on one private server and on a private 3-master cluster,
// with plain ids and with hash-tagged ids ({id}: a coordinator in one slot), side by
// side in one run. The figure the issue names: Redis CPU per key deleted, cluster over
// one server (CPU summed over the masters).
int run_bench_cleanup_cluster(const BenchCleanupArgs& args, const std::string& self_exe) {
  auto single = RedisProcess::start();
  if (!single) {
    std::cerr << "swarmkeeper bench: " << single.error().message() << "\n";
    return 1;
  }
  auto cluster = RedisCluster::start(3);
  if (!cluster) {
    std::cerr << "swarmkeeper bench: " << cluster.error().message() << "\n";
    return 1;
  }
  ConnectionOptions one;
  one.port = (*single)->port();
  ConnectionOptions many;
  many.port = (*cluster)->nodes()[0]->port();
  many.cluster = true;
  const std::string many_url = "redis+cluster://127.0.0.1:" + std::to_string(many.port);
  Admin one_admin(one);
  std::vector<std::unique_ptr<Admin>> masters;
  for (const auto& node : (*cluster)->nodes()) {
    ConnectionOptions o;
    o.port = node->port();
    masters.push_back(std::make_unique<Admin>(o));
  }
  std::vector<Admin*> many_admins;
  for (auto& m : masters) many_admins.push_back(m.get());
  nlohmann::json results = nlohmann::json::array();
  bool all_ok = true;
  if (!args.json)
    std::cout << fmt::format("{:>9} | {:>22} | {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>7}\n", "coords",
                             "where", "wall ms", "redis ms", "us/key", "vs one", "stall ms", "verified",
                             "across");
  for (std::uint64_t n : args.sizes) {
    struct Case {
      const char* name;
      bool on_cluster, tags;
    };
    double one_us_per_key = 0;
    for (const Case c : {Case{"one server", false, false}, Case{"cluster, plain ids", true, false},
                         Case{"cluster, hash-tagged", true, true}}) {
      SeedOptions seed;
      seed.coordinators = n;
      seed.stale = n * 99 / 100;
      seed.hash_tags = c.tags;
      const ConnectionOptions& where = c.on_cluster ? many : one;
      const std::vector<Admin*> admins = c.on_cluster ? many_admins : std::vector<Admin*>{&one_admin};
      for (Admin* a : admins) (void)a->cmd(resp::Command("FLUSHALL"));
      if (!seed_scenario(where, seed)) {
        std::cerr << "swarmkeeper bench: seeding " << n << " coordinators failed\n";
        return 2;
      }
      Run r = run_ours(self_exe, c.on_cluster ? many_url : one.display(), args.recheck, admins, where);
      auto check = verify_scenario(where, seed);
      r.verified = check && check->perfect();
      all_ok = all_ok && r.verified && r.error.empty();
      const double us_per_key =
          r.keys_deleted > 0 ? r.redis_cpu_ms * 1000 / static_cast<double>(r.keys_deleted) : 0;
      if (!c.on_cluster) one_us_per_key = us_per_key;
      nlohmann::json row = {{"coordinators", n},
                            {"where", c.name},
                            {"run", to_json(r)},
                            {"redisCpuUsPerKey", std::round(us_per_key * 100) / 100}};
      if (c.on_cluster && one_us_per_key > 0)
        row["perKeyCpuVsOneServer"] = std::round(us_per_key / one_us_per_key * 100) / 100;
      results.push_back(row);
      if (!args.json) {
        std::cout << fmt::format(
            "{:>9} | {:>22} | {:>9.1f} {:>9.1f} {:>8.2f} {:>9} {:>9.2f} {:>8} {:>7}\n", n, c.name, r.wall_ms,
            r.redis_cpu_ms, us_per_key,
            c.on_cluster && one_us_per_key > 0 ? fmt::format("{:.2f}x", us_per_key / one_us_per_key) : "-",
            r.max_stall_ms, r.verified ? "100/0 %" : "FAIL",
            c.tags ? "atomic" : (c.on_cluster ? "reread" : "-"));
        if (!r.error.empty()) std::cout << "  error: " << r.error << "\n";
        std::cout.flush();
      }
    }
  }
  if (args.json)
    std::cout << nlohmann::json{{"recheck", args.recheck}, {"cluster", true}, {"results", results}}.dump()
              << "\n";
  return all_ok ? 0 : 2;
}

}  // namespace

int run_bench_cleanup(const BenchCleanupArgs& args, const std::string& self_exe) {
  if (args.cluster) return run_bench_cleanup_cluster(args, self_exe);
  int exit_code = 0;
  auto target = open_target(args.url, "bench", exit_code);
  if (!target) return exit_code;
  const ConnectionOptions conn = target->connection;
  Admin admin(conn);
  if (!admin.ok()) {
    std::cerr << "swarmkeeper bench: " << admin.error() << "\n";
    return 1;
  }
  std::string script;
  if (args.peer_script.empty()) {
    std::cerr << "note: no --peer-script: the peer column is skipped\n";
  } else {
    std::ifstream in(args.peer_script);
    std::stringstream ss;
    ss << in.rdbuf();
    script = ss.str();
    if (script.empty())
      std::cerr << "note: peer script '" << args.peer_script << "' not found; the peer column is skipped\n";
  }
  auto sizes = args.sizes;
  if (args.large) sizes.push_back(1000000);

  nlohmann::json results = nlohmann::json::array();
  double peer_ms_per_n2 = 0;  // the peer is quadratic: project from the last size it ran
  constexpr std::uint64_t kCalibration = 100;
  bool all_ok = true;
  if (!args.json)
    std::cout << fmt::format(
        "{:>9} | {:>9} {:>10} {:>9} {:>8} {:>9} {:>8} {:>7} {:>8} | {:>9} {:>7} {:>7} | {:>10} {:>9} {:>8} | "
        "{:>7}\n",
        "coords", "wall ms", "coords/s", "redis ms", "wall/cpu", "stall ms", "srv max", "rss MB", "verified",
        "floor ms", "cpu/fl", "wall/fl", "peer ms", "peer stall", "verified", "speedup");
  for (std::uint64_t n : sizes) {
    SeedOptions seed;
    seed.coordinators = n;
    seed.stale = n * 99 / 100;
    auto prepare = [&]() -> bool {
      if (!admin.cmd(resp::Command("FLUSHALL"))) return false;
      return static_cast<bool>(seed_scenario(conn, seed));
    };
    auto verify = [&](Run& r) {
      auto c = verify_scenario(conn, seed);
      r.verified = c && c->perfect();
    };
    Run ours, peer;
    if (!prepare()) {
      std::cerr << "swarmkeeper bench: seeding " << n << " coordinators failed\n";
      return 2;
    }
    ours = run_ours(self_exe, conn.display(), args.recheck, {&admin}, conn);  // no password: a private server
    verify(ours);
    Run floor;
    if (prepare()) {
      floor = run_floor(conn, admin);
      verify(floor);
    }
    if (!script.empty() && peer_ms_per_n2 == 0 && n > kCalibration) {
      // Nothing smaller measured yet: time the peer on a small scenario to project from,
      // so the cap holds whatever sizes were asked for.
      SeedOptions small;
      small.coordinators = kCalibration;
      small.stale = kCalibration * 99 / 100;
      if (admin.cmd(resp::Command("FLUSHALL")) && seed_scenario(conn, small)) {
        const Run calib = run_peer(script, conn, admin);
        peer_ms_per_n2 = std::max(calib.wall_ms, 0.001) / static_cast<double>(kCalibration * kCalibration);
      }
    }
    if (script.empty()) {
      peer.skipped = "no script";
    } else if (peer_ms_per_n2 > 0 &&
               peer_ms_per_n2 * static_cast<double>(n) * static_cast<double>(n) > args.peer_cap_s * 1000) {
      peer.skipped = fmt::format("projected {:.0f} s > cap {:.0f} s (quadratic)",
                                 peer_ms_per_n2 * static_cast<double>(n) * static_cast<double>(n) / 1000,
                                 args.peer_cap_s);
    } else if (!prepare()) {
      peer.skipped = "seeding failed";
    } else {
      peer = run_peer(script, conn, admin);
      verify(peer);
      peer_ms_per_n2 = peer.wall_ms / (static_cast<double>(n) * static_cast<double>(n));
    }
    all_ok = all_ok && ours.verified && ours.error.empty();
    const double cps = ours.wall_ms > 0 ? static_cast<double>(n) * 1000 / ours.wall_ms : 0;
    nlohmann::json row = {{"coordinators", n},
                          {"keys", n * keys_per_coordinator(seed)},
                          {"ours", to_json(ours)},
                          {"peer", to_json(peer)}};
    row["ours"]["coordinatorsPerSec"] = std::round(cps);
    if (peer.ran && ours.wall_ms > 0) row["speedup"] = std::round(peer.wall_ms / ours.wall_ms * 10) / 10;
    row["floor"] = to_json(floor);
    if (floor.ran && floor.redis_cpu_ms > 0) {
      row["redisCpuVsFloor"] = std::round(ours.redis_cpu_ms / floor.redis_cpu_ms * 100) / 100;
      row["wallVsFloorRedisCpu"] = std::round(ours.wall_ms / floor.redis_cpu_ms * 100) / 100;
    }
    results.push_back(row);
    if (!args.json) {
      std::cout << fmt::format(
          "{:>9} | {:>9.1f} {:>10.0f} {:>9.1f} {:>8.2f} {:>9.2f} {:>8} {:>7.1f} {:>8} | ", n, ours.wall_ms,
          cps, ours.redis_cpu_ms, ours.redis_cpu_ms > 0 ? ours.wall_ms / ours.redis_cpu_ms : 0,
          ours.max_stall_ms,
          ours.server_max_ms < 0 ? std::string("?") : fmt::format("{:.0f}", ours.server_max_ms), ours.rss_mb,
          ours.verified ? "100/0 %" : "FAIL");
      if (floor.ran && floor.redis_cpu_ms > 0)
        std::cout << fmt::format("{:>9.1f} {:>6.2f}x {:>6.2f}x | ", floor.redis_cpu_ms,
                                 ours.redis_cpu_ms / floor.redis_cpu_ms, ours.wall_ms / floor.redis_cpu_ms);
      else
        std::cout << fmt::format("{:>9} {:>7} {:>7} | ", "-", "-", "-");
      if (peer.ran)
        std::cout << fmt::format("{:>10.1f} {:>9.1f} {:>8} | {:>6.1f}x\n", peer.wall_ms, peer.max_stall_ms,
                                 peer.verified ? "100/0 %" : "FAIL", peer.wall_ms / ours.wall_ms);
      else
        std::cout << "skipped: " << peer.skipped << "\n";
      if (!ours.error.empty()) std::cout << "  error: " << ours.error << "\n";
      std::cout.flush();
    }
  }
  if (args.json) std::cout << nlohmann::json{{"recheck", args.recheck}, {"results", results}}.dump() << "\n";
  return all_ok ? 0 : 2;
}

}  // namespace swarmkeeper::cli
