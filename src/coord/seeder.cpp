// SPDX-License-Identifier: Apache-2.0
// seeder.cpp — the reference scenario, written fast (see swarmkeeper/seed.hpp).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "coord/in_flight.hpp"
#include "coord/server_info.hpp"
#include "net/connection.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/cluster_client.hpp"
#include "swarmkeeper/seed.hpp"

namespace swarmkeeper {
namespace {

namespace asio = boost::asio;

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out;
}

// The orchestrator layout's one key of no coordinator's (a swarm's state), and its value.
constexpr const char* kBystanderKey = "swarm:state:swarm-1";
constexpr const char* kBystanderValue = "{\"status\":\"running\",\"timestamp\":1}";

// The orchestrator's keys of coordinator i (see seed.hpp), each with its TTL in seconds.
struct Entry {
  std::string key, value;
  std::int64_t ttl_s = 0;
};
std::vector<Entry> orchestrator_entries(const SeedOptions& o, std::uint64_t i, std::int64_t ts_ms) {
  const std::string id = seed_coordinator_id(o, i), jid = json_escape(id);
  const std::string t = std::to_string(ts_ms);
  const bool dead = i <= o.stale;
  // A dead coordinator's keys were written stale_age ago: that much of each TTL is gone.
  auto ttl = [&](std::int64_t full) { return dead ? std::max<std::int64_t>(1, full - o.stale_age.count()) : full; };
  std::vector<Entry> e;
  if (!dead) {
    e.push_back({"blocking:heartbeat:" + id,
                 "{\"coordinatorId\":\"" + jid + "\",\"lastHeartbeat\":" + t + ",\"sequence\":42,\"iteration\":3,\"metadata\":{}}", 300});
    e.push_back({"coordinator:activity:" + id,
                 "{\"coordinatorId\":\"" + jid + "\",\"lastActivity\":" + t + ",\"iteration\":3,\"phase\":\"blocking\"}", 600});
  }
  e.push_back({"blocking:signal:" + id,
               "{\"timestamp\":" + t + ",\"senderId\":\"hub\",\"receiverId\":\"" + jid +
                   "\",\"iteration\":3,\"type\":\"wake\",\"payload\":{},\"messageId\":\"m-" + std::to_string(i) + "\"}",
               ttl(86400)});
  for (std::uint32_t a = 1; a <= o.acks; ++a)
    e.push_back({"blocking:ack:" + id + ":sig-" + std::to_string(a),
                 "{\"coordinatorId\":\"" + jid + "\",\"signalId\":\"sig-" + std::to_string(a) + "\",\"timestamp\":" + t +
                     ",\"iteration\":3,\"status\":\"received\",\"signature\":\"3f2a\",\"metadata\":{}}",
                 ttl(3600)});
  e.push_back({"blocking:idempotency:" + id + ":hub:wake:3:" + t, "1", ttl(86400)});
  e.push_back({"swarm:swarm-1:blocking:" + id,
               "{\"status\":\"waiting\",\"startTime\":" + t + ",\"signalType\":\"wake\",\"iteration\":3,\"phase\":\"blocking\","
               "\"swarmId\":\"swarm-1\",\"coordinatorId\":\"" + jid + "\",\"timestamp\":" + t + "}",
               ttl(86400)});
  return e;
}

// The scenario's keys of coordinator i with their values (heartbeat timestamp ts_ms):
// what seed() writes and verify() checks.
std::vector<std::pair<std::string, std::string>> scenario_entries(const SeedOptions& o, std::uint64_t i, std::int64_t ts_ms) {
  if (o.layout == SeedLayout::orchestrator) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& e : orchestrator_entries(o, i, ts_ms)) out.emplace_back(std::move(e.key), std::move(e.value));
    return out;
  }
  const std::string id = seed_coordinator_id(o, i);
  const std::string t = std::to_string(ts_ms);
  std::vector<std::pair<std::string, std::string>> e{
      {"blocking:heartbeat:" + id, "{\"coordinatorId\":\"" + json_escape(id) + "\",\"timestamp\":" + t + ",\"seq\":1}"},
      {"blocking:signal:" + id, "CONTINUE"},
      {"blocking:idempotency:" + id + ":init", "1"},
      {"coordinator:activity:" + id, t}};
  for (std::uint32_t a = 1; a <= o.acks; ++a) e.emplace_back("blocking:ack:" + id + ":agent-" + std::to_string(a), "1");
  return e;
}

// Sends one MSET; records the first failure. (A named coroutine: GCC 12 mis-warns on
// coroutine lambdas.)
asio::awaitable<void> send_batch(std::shared_ptr<net::Connection> c, std::shared_ptr<std::string> cmd, std::size_t replies,
                                 coord::InFlight& slots, Error& failure) {
  resp::Reply reply;  // the first error reply, else the last reply
  auto keep = [](void* p, const resp::ReplyView& v) {
    auto* r = static_cast<resp::Reply*>(p);
    if (!r->is_error()) *r = resp::Reply(v);
  };
  Error e = co_await c->exec_raw(*cmd, replies, net::ReplySink{&reply, keep});
  if (!e && reply.is_error()) e = net::error_from_reply(reply.root(), "writing the scenario");
  if (e && !failure) failure = e;
  slots.release();
}

asio::awaitable<Result<SeedReport>> seed(asio::io_context& io, ConnectionOptions copts, SeedOptions o) {
  const auto start = std::chrono::steady_clock::now();
  auto conn = co_await net::Connection::open(io.get_executor(), copts);
  if (!conn) co_return conn.error();
  auto time = co_await (*conn)->exec(resp::Command("TIME"));
  if (!time) co_return time.error();
  const auto server_ms = resp::time_ms(time->root());
  if (!server_ms) co_return Error(Errc::unexpected_reply, "TIME returned " + resp::to_string(time->root()));
  SeedReport rep;
  rep.now_ms = *server_ms;
  const std::int64_t stale_ts = rep.now_ms - o.stale_age.count() * 1000;
  const std::int64_t active_ts = rep.now_ms - o.active_age.count() * 1000;

  coord::InFlight slots(io.get_executor(), 4);
  Error failure;
  constexpr std::uint64_t kPerBatch = 200;  // coordinators per MSET: ~1,200 keys, ~100 KB
  for (std::uint64_t first = 1; first <= o.coordinators && !failure; first += kPerBatch) {
    auto cmd = std::make_shared<std::string>();
    const std::uint64_t last = std::min(o.coordinators, first + kPerBatch - 1);
    std::size_t replies = 1;
    if (o.layout == SeedLayout::orchestrator) {  // TTLs: one SET .. EX per key
      replies = 0;
      for (std::uint64_t i = first; i <= last; ++i)
        for (const auto& e : orchestrator_entries(o, i, i <= o.stale ? stale_ts : active_ts)) {
          resp::Command("SET").arg(e.key).arg(e.value).arg("EX").arg(e.ttl_s).append_to(*cmd);
          ++replies;
        }
      if (first == 1) {
        resp::Command("SET").arg(kBystanderKey).arg(kBystanderValue).append_to(*cmd);
        ++replies;
      }
      rep.keys_written += replies;
    } else {
      resp::Command mset("MSET");
      for (std::uint64_t i = first; i <= last; ++i)
        for (const auto& [key, value] : scenario_entries(o, i, i <= o.stale ? stale_ts : active_ts)) mset.arg(key).arg(value);
      mset.append_to(*cmd);
      rep.keys_written += (last - first + 1) * keys_per_coordinator(o);
    }
    co_await slots.acquire();
    asio::co_spawn(io, send_batch(*conn, std::move(cmd), replies, slots, failure), asio::detached);
  }
  co_await slots.drain();
  (*conn)->close();
  if (failure) co_return failure;
  rep.elapsed_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  co_return rep;
}

// The same scenario on a Redis Cluster: MSET per slot, each node's groups pipelined.
asio::awaitable<Result<SeedReport>> seed_cluster(asio::io_context& io, ConnectionOptions copts, SeedOptions o) {
  const auto start = std::chrono::steady_clock::now();
  ClusterOptions co = ClusterOptions::from(copts);
  co.node.compression = false;  // the scenario's values as the swarm writes them
  co.node.min_connections = 1;
  ClusterClient cluster(io.get_executor(), co);
  if (auto ok = co_await cluster.connect(); !ok) co_return ok.error();
  auto time = co_await cluster.for_each_master(resp::Command("TIME"));
  if (time.empty() || !time[0]) co_return time.empty() ? Error(Errc::unexpected_reply, "no master") : time[0].error();
  const auto server_ms = resp::time_ms(time[0]->root());
  if (!server_ms) co_return Error(Errc::unexpected_reply, "TIME returned " + resp::to_string(time[0]->root()));
  SeedReport rep;
  rep.now_ms = *server_ms;
  const std::int64_t stale_ts = rep.now_ms - o.stale_age.count() * 1000;
  const std::int64_t active_ts = rep.now_ms - o.active_age.count() * 1000;
  constexpr std::uint64_t kPerBatch = 2000;
  for (std::uint64_t first = 1; first <= o.coordinators; first += kPerBatch) {
    const std::uint64_t last = std::min(o.coordinators, first + kPerBatch - 1);
    if (o.layout == SeedLayout::orchestrator) {  // TTLs: one SET .. EX per key, routed
      std::vector<resp::Command> cmds;
      for (std::uint64_t i = first; i <= last; ++i)
        for (const auto& e : orchestrator_entries(o, i, i <= o.stale ? stale_ts : active_ts))
          cmds.push_back(resp::Command("SET").arg(e.key).arg(e.value).arg("EX").arg(e.ttl_s));
      if (first == 1) cmds.push_back(resp::Command("SET").arg(kBystanderKey).arg(kBystanderValue));
      rep.keys_written += cmds.size();
      auto r = co_await cluster.pipeline(std::move(cmds), true);
      if (!r) co_return r.error();
      for (const auto& reply : *r)
        if (reply.is_error()) co_return net::error_from_reply(reply.root(), "writing the scenario");
      continue;
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (std::uint64_t i = first; i <= last; ++i)
      for (auto& e : scenario_entries(o, i, i <= o.stale ? stale_ts : active_ts)) pairs.push_back(std::move(e));
    rep.keys_written += pairs.size();
    if (auto ok = co_await cluster.mset(std::move(pairs)); !ok) co_return ok.error();
  }
  cluster.close();
  rep.elapsed_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  co_return rep;
}

// On one server, one EXISTS per coordinator; on a cluster, one per key (each routed to
// its master), summed per coordinator.
asio::awaitable<Result<ScenarioCheck>> verify(asio::io_context& io, ConnectionOptions copts, SeedOptions o,
                                              std::int64_t seed_now_ms) {
  std::shared_ptr<net::Connection> conn;
  std::unique_ptr<ClusterClient> cluster;
  if (copts.cluster) {
    cluster = std::make_unique<ClusterClient>(io.get_executor(), ClusterOptions::from(copts));
    if (auto ok = co_await cluster->connect(); !ok) co_return ok.error();
  } else {
    auto c = co_await net::Connection::open(io.get_executor(), copts);
    if (!c) co_return c.error();
    conn = *c;
  }
  ScenarioCheck check;
  constexpr std::uint64_t kPerPipeline = 1000;
  for (std::uint64_t first = 1; first <= o.coordinators; first += kPerPipeline) {
    const std::uint64_t last = std::min(o.coordinators, first + kPerPipeline - 1);
    std::vector<resp::Command> cmds;
    for (std::uint64_t i = first; i <= last; ++i) {
      resp::Command exists("EXISTS");
      // The timestamp only shows in an orchestrator idempotency key's name: the seed's.
      const std::int64_t ts = seed_now_ms - (i <= o.stale ? o.stale_age.count() : o.active_age.count()) * 1000;
      for (const auto& entry : scenario_entries(o, i, ts)) {
        if (cluster) cmds.push_back(resp::Command("EXISTS").arg(entry.first));
        else exists.arg(entry.first);
      }
      if (!cluster) cmds.push_back(std::move(exists));
    }
    Result<std::vector<resp::Reply>> r = Error(Errc::cancelled, "not run");
    if (cluster) {
      r = co_await cluster->pipeline(std::move(cmds), true);
    } else {
      resp::Pipeline p;
      for (const auto& c : cmds) p.add(c);
      r = co_await conn->exec(p);
    }
    if (!r) co_return r.error();
    std::size_t at = 0;
    for (std::uint64_t i = first; i <= last; ++i) {
      const std::uint64_t per = keys_per_coordinator(o, i <= o.stale);
      std::uint64_t present = 0;
      if (cluster)
        for (std::uint64_t k = 0; k < per; ++k) present += static_cast<std::uint64_t>((*r)[at++].integer());
      else
        present = static_cast<std::uint64_t>((*r)[at++].integer());
      if (i <= o.stale) {
        check.stale_keys_total += per;
        check.stale_keys_left += present;
      } else {
        check.active_keys_total += per;
        check.active_keys_present += present;
      }
    }
  }
  if (cluster) cluster->close();
  else conn->close();
  co_return check;
}

// A plain URL may name a cluster node (is_cluster_node): then the whole cluster is used,
// with that node as the seed.
ConnectionOptions with_cluster_detected(const ConnectionOptions& connection) {
  if (connection.cluster) return connection;
  asio::io_context io;
  ConnectionOptions out = connection;
  auto probe = [&]() -> asio::awaitable<bool> {
    auto c = co_await net::Connection::open(io.get_executor(), connection);
    if (!c) co_return false;
    const bool cluster = co_await coord::is_cluster_node(**c);
    (*c)->close();
    co_return cluster;
  };
  out.cluster = net::run_blocking(io, probe());
  io.run();
  return out;
}

}  // namespace

Result<ScenarioCheck> verify_scenario(const ConnectionOptions& given, const SeedOptions& options, std::int64_t seed_now_ms) {
  const ConnectionOptions connection = with_cluster_detected(given);
  asio::io_context io;
  auto r = net::run_blocking(io, verify(io, connection, options, seed_now_ms));
  io.run();
  return r;
}

std::string seed_coordinator_id(const SeedOptions& o, std::uint64_t i) {
  std::string id =
      i <= o.stale ? o.prefix + "-stale-" + std::to_string(i) : o.prefix + "-active-" + std::to_string(i - o.stale);
  return o.hash_tags ? "{" + id + "}" : id;
}

Result<std::int64_t> count_keys(const ConnectionOptions& given) {
  const ConnectionOptions connection = with_cluster_detected(given);
  asio::io_context io;
  auto count = [&]() -> asio::awaitable<Result<std::int64_t>> {
    std::int64_t n = 0;
    if (connection.cluster) {
      ClusterClient cluster(io.get_executor(), ClusterOptions::from(connection));
      for (auto& r : co_await cluster.for_each_master(resp::Command("DBSIZE"))) {
        if (!r) {
          cluster.close();
          co_return r.error();
        }
        n += r->integer();
      }
      cluster.close();
      co_return n;
    }
    auto c = co_await net::Connection::open(io.get_executor(), connection);
    if (!c) co_return c.error();
    auto r = co_await (*c)->exec(resp::Command("DBSIZE"));
    (*c)->close();
    if (!r) co_return r.error();
    co_return r->integer();
  };
  auto r = net::run_blocking(io, count());
  io.run();
  return r;
}

Result<SeedReport> seed_scenario(const ConnectionOptions& given, const SeedOptions& options) {
  if (options.stale > options.coordinators)
    return Error(Errc::invalid_argument, "--stale (" + std::to_string(options.stale) + ") is more than --coordinators (" +
                                             std::to_string(options.coordinators) + ")");
  const ConnectionOptions connection = with_cluster_detected(given);
  asio::io_context io;
  Result<SeedReport> r = Error(Errc::cancelled, "not run");
  if (connection.cluster) {
    r = net::run_blocking(io, seed_cluster(io, connection, options));
  } else {
    r = net::run_blocking(io, seed(io, connection, options));
  }
  io.run();
  return r;
}

}  // namespace swarmkeeper
