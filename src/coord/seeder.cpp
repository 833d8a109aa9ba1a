// SPDX-License-Identifier: Apache-2.0
// seeder.cpp — the reference scenario, written fast (see swarmkeeper/coord/seed.hpp).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "coord/in_flight.hpp"
#include "net/connection.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/coord/seed.hpp"

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
  auto ttl = [&](std::int64_t full) {
    return dead ? std::max<std::int64_t>(1, full - o.stale_age.count()) : full;
  };
  std::vector<Entry> e;
  if (!dead) {
    e.push_back({"blocking:heartbeat:" + id,
                 "{\"coordinatorId\":\"" + jid + "\",\"lastHeartbeat\":" + t +
                     ",\"sequence\":42,\"iteration\":3,\"metadata\":{}}",
                 300});
    e.push_back({"coordinator:activity:" + id,
                 "{\"coordinatorId\":\"" + jid + "\",\"lastActivity\":" + t +
                     ",\"iteration\":3,\"phase\":\"blocking\"}",
                 600});
  }
  e.push_back({"blocking:signal:" + id,
               "{\"timestamp\":" + t + ",\"senderId\":\"hub\",\"receiverId\":\"" + jid +
                   "\",\"iteration\":3,\"type\":\"wake\",\"payload\":{},\"messageId\":\"m-" +
                   std::to_string(i) + "\"}",
               ttl(86400)});
  for (std::uint32_t a = 1; a <= o.acks; ++a)
    e.push_back({"blocking:ack:" + id + ":sig-" + std::to_string(a),
                 "{\"coordinatorId\":\"" + jid + "\",\"signalId\":\"sig-" + std::to_string(a) +
                     "\",\"timestamp\":" + t +
                     ",\"iteration\":3,\"status\":\"received\",\"signature\":\"3f2a\",\"metadata\":{}}",
                 ttl(3600)});
  e.push_back({"blocking:idempotency:" + id + ":hub:wake:3:" + t, "1", ttl(86400)});
  e.push_back({"swarm:swarm-1:blocking:" + id,
               "{\"status\":\"waiting\",\"startTime\":" + t +
                   ",\"signalType\":\"wake\",\"iteration\":3,\"phase\":\"blocking\","
                   "\"swarmId\":\"swarm-1\",\"coordinatorId\":\"" +
                   jid + "\",\"timestamp\":" + t + "}",
               ttl(86400)});
  return e;
}

// The scenario's keys of coordinator i with their values (heartbeat timestamp ts_ms):
// what seed() writes and verify() checks.
std::vector<std::pair<std::string, std::string>> scenario_entries(const SeedOptions& o, std::uint64_t i,
                                                                  std::int64_t ts_ms) {
  if (o.layout == SeedLayout::orchestrator) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& e : orchestrator_entries(o, i, ts_ms)) out.emplace_back(std::move(e.key), std::move(e.value));
    return out;
  }
  const std::string id = seed_coordinator_id(o, i);
  const std::string t = std::to_string(ts_ms);
  std::vector<std::pair<std::string, std::string>> e{
      {"blocking:heartbeat:" + id,
       "{\"coordinatorId\":\"" + json_escape(id) + "\",\"timestamp\":" + t + ",\"seq\":1}"},
      {"blocking:signal:" + id, "CONTINUE"},
      {"blocking:idempotency:" + id + ":init", "1"},
      {"coordinator:activity:" + id, t}};
  for (std::uint32_t a = 1; a <= o.acks; ++a)
    e.emplace_back("blocking:ack:" + id + ":agent-" + std::to_string(a), "1");
  return e;
}

// Writes one batch of the scenario (MSETs, or SET .. EX per key for the orchestrator
// layout's TTLs); records the first failure. (A named coroutine: GCC 12 mis-warns on
// coroutine lambdas.)
asio::awaitable<void> send_batch(Router& r, std::vector<resp::Command> sets,
                                 std::vector<std::pair<std::string, std::string>> pairs,
                                 coord::InFlight& slots, Error& failure) {
  Error e;
  if (!sets.empty()) {
    auto replies = co_await r.pipeline(std::move(sets), true);
    if (!replies)
      e = replies.error();
    else
      for (const auto& reply : *replies)
        if (reply.is_error()) {
          e = net::error_from_reply(reply.root(), "writing the scenario");
          break;
        }
  } else if (auto ok = co_await r.mset(std::move(pairs)); !ok) {
    e = ok.error();
  }
  if (e && !failure) failure = e;
  slots.release();
}

// The scenario on one server or a cluster: batches of coordinators, four in flight
// (each server's share of a batch in one write).
asio::awaitable<Result<SeedReport>> seed(asio::io_context& io, Router& r, SeedOptions o) {
  const auto start = std::chrono::steady_clock::now();
  auto time = co_await r.for_each_master(resp::Command("TIME"));
  if (time.empty()) co_return Error(Errc::unexpected_reply, "no master");
  if (!time[0]) co_return time[0].error();
  const auto server_ms = resp::time_ms(time[0]->root());
  if (!server_ms)
    co_return Error(Errc::unexpected_reply, "TIME returned " + resp::to_string(time[0]->root()));
  SeedReport rep;
  rep.now_ms = *server_ms;
  const std::int64_t stale_ts = rep.now_ms - o.stale_age.count() * 1000;
  const std::int64_t active_ts = rep.now_ms - o.active_age.count() * 1000;

  coord::InFlight slots(io.get_executor(), 4);
  Error failure;
  constexpr std::uint64_t kPerBatch = 200;  // coordinators per batch: ~1,200 keys, ~100 KB
  for (std::uint64_t first = 1; first <= o.coordinators && !failure; first += kPerBatch) {
    const std::uint64_t last = std::min(o.coordinators, first + kPerBatch - 1);
    std::vector<resp::Command> sets;
    std::vector<std::pair<std::string, std::string>> pairs;
    if (o.layout == SeedLayout::orchestrator) {  // TTLs: one SET .. EX per key
      for (std::uint64_t i = first; i <= last; ++i)
        for (const auto& e : orchestrator_entries(o, i, i <= o.stale ? stale_ts : active_ts))
          sets.push_back(resp::Command("SET").arg(e.key).arg(e.value).arg("EX").arg(e.ttl_s));
      if (first == 1) sets.push_back(resp::Command("SET").arg(kBystanderKey).arg(kBystanderValue));
      rep.keys_written += sets.size();
    } else {
      for (std::uint64_t i = first; i <= last; ++i)
        for (auto& e : scenario_entries(o, i, i <= o.stale ? stale_ts : active_ts))
          pairs.push_back(std::move(e));
      rep.keys_written += pairs.size();
    }
    co_await slots.acquire();
    asio::co_spawn(io, send_batch(r, std::move(sets), std::move(pairs), slots, failure), asio::detached);
  }
  co_await slots.drain();
  if (failure) co_return failure;
  rep.elapsed_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
          .count());
  co_return rep;
}

// One EXISTS per key (each routed to its server), summed per coordinator.
asio::awaitable<Result<ScenarioCheck>> verify(Router& r, SeedOptions o, std::int64_t seed_now_ms) {
  ScenarioCheck check;
  constexpr std::uint64_t kPerPipeline = 1000;
  for (std::uint64_t first = 1; first <= o.coordinators; first += kPerPipeline) {
    const std::uint64_t last = std::min(o.coordinators, first + kPerPipeline - 1);
    std::vector<resp::Command> cmds;
    for (std::uint64_t i = first; i <= last; ++i) {
      // The timestamp only shows in an orchestrator idempotency key's name: the seed's.
      const std::int64_t ts =
          seed_now_ms - (i <= o.stale ? o.stale_age.count() : o.active_age.count()) * 1000;
      for (const auto& entry : scenario_entries(o, i, ts))
        cmds.push_back(resp::Command("EXISTS").arg(entry.first));
    }
    auto replies = co_await r.pipeline(std::move(cmds), true);
    if (!replies) co_return replies.error();
    std::size_t at = 0;
    for (std::uint64_t i = first; i <= last; ++i) {
      const std::uint64_t per = keys_per_coordinator(o, i <= o.stale);
      std::uint64_t present = 0;
      for (std::uint64_t k = 0; k < per; ++k) {
        const resp::Reply& one = (*replies)[at++];
        if (one.is_error()) co_return net::error_from_reply(one.root(), "checking the scenario");
        present += static_cast<std::uint64_t>(one.integer());
      }
      if (i <= o.stale) {
        check.stale_keys_total += per;
        check.stale_keys_left += present;
      } else {
        check.active_keys_total += per;
        check.active_keys_present += present;
      }
    }
  }
  co_return check;
}

// Runs `body` with a router for `connection` (one server or a cluster, open_router()),
// values written as the swarm writes them (no compression), and closes it.
template <class T, class Body>
Result<T> with_router(const ConnectionOptions& connection, Body body) {
  asio::io_context io;
  ClientOptions options;
  options.connection = connection;
  options.compression = false;
  options.min_connections = 1;
  auto run = [&]() -> asio::awaitable<Result<T>> {
    auto r = co_await open_router(io.get_executor(), options);
    if (!r) co_return r.error();
    Result<T> out = co_await body(io, **r);
    (*r)->close();
    co_return out;
  };
  auto out = net::run_blocking(io, run());
  io.run();
  return out;
}

}  // namespace

Result<ScenarioCheck> verify_scenario(const ConnectionOptions& connection, const SeedOptions& options,
                                      std::int64_t seed_now_ms) {
  return with_router<ScenarioCheck>(
      connection, [&](asio::io_context&, Router& r) { return verify(r, options, seed_now_ms); });
}

std::string seed_coordinator_id(const SeedOptions& o, std::uint64_t i) {
  std::string id = i <= o.stale ? o.prefix + "-stale-" + std::to_string(i)
                                : o.prefix + "-active-" + std::to_string(i - o.stale);
  return o.hash_tags ? "{" + id + "}" : id;
}

Result<std::int64_t> count_keys(const ConnectionOptions& connection) {
  return with_router<std::int64_t>(connection,
                                   [](asio::io_context&, Router& r) -> asio::awaitable<Result<std::int64_t>> {
                                     std::int64_t n = 0;
                                     for (auto& one : co_await r.for_each_master(resp::Command("DBSIZE"))) {
                                       if (!one) co_return one.error();
                                       n += one->integer();
                                     }
                                     co_return n;
                                   });
}

Result<SeedReport> seed_scenario(const ConnectionOptions& connection, const SeedOptions& options) {
  if (options.stale > options.coordinators)
    return Error(Errc::invalid_argument, "--stale (" + std::to_string(options.stale) +
                                             ") is more than --coordinators (" +
                                             std::to_string(options.coordinators) + ")");
  return with_router<SeedReport>(connection,
                                 [&](asio::io_context& io, Router& r) { return seed(io, r, options); });
}

}  // namespace swarmkeeper
