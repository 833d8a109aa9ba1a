// SPDX-License-Identifier: Apache-2.0
// inspect.cpp — `swarmkeeper inspect` (see inspect.hpp): SCAN every master within a
// Redis-CPU budget (paced on INFO cpu, like the census), up to --max-keys keys; then, per
// key shape, up to 32 sampled keys read (TYPE, PTTL, GETRANGE 0 4095); then a dry-run
// cleanup (same budget) for what a cleanup would do now.
#include "cli/inspect.hpp"

#include <fmt/format.h>

#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/validators.hpp"
#include "client/sync_router.hpp"
#include "coord/keyspace_survey.hpp"
#include "coord/pacer.hpp"
#include "coord/server_info.hpp"
#include "resp/numbers.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/coord/cleanup.hpp"

namespace swarmkeeper::cli {

void add_inspect_options(CLI::App* c, InspectArgs& a) {
  c->add_option("--url", a.url, "Redis URL (as for cleanup); a cluster node means the whole cluster");
  c->add_option("--threshold", a.threshold,
                "The cleanup's threshold (for what a cleanup would do now): 600, 10m, ...")
      ->envname("SWARMKEEPER_THRESHOLD")
      ->capture_default_str();
  c->add_option("--schema", a.schema_file,
                "Key schema file (JSON) to check the keyspace against (default: the built-in one)")
      ->check(CLI::ExistingFile);
  c->add_option("--max-busy", a.max_busy,
                "Keep the server's CPU under this percent of wall time while inspecting (0.1-100)")
      ->check(decimal_in(0.1, 100, "5"))
      ->capture_default_str();
  c->add_option("--max-keys", a.max_keys, "Stop scanning after this many keys (1-100000000)")
      ->check(count_in(1, 100000000, "1000000"))
      ->capture_default_str();
  c->add_flag("--json", a.json, "Print the findings as one JSON object");
  c->add_flag("--suggest-schema", a.suggest_schema,
              "Print only a schema file (JSON) that reads the layout found");
  c->add_flag("--no-dry-run", a.no_dry_run, "Skip the dry-run cleanup (what a cleanup would do now)");
}

namespace {

// The server CPU seconds of every master, summed.
double cpu_sum(SyncRouter& redis, const std::vector<SyncRouter::Master>& masters) {
  double total = 0;
  for (const auto& m : masters)
    if (auto r = redis.at(m, resp::Command("INFO").arg("cpu")); r && r->root().is_string())
      total += coord::info_cpu_seconds(r->str());
  return total;
}

}  // namespace

int run_inspect(const InspectArgs& a) {
  auto usage = [](const std::string& m) {
    std::cerr << "swarmkeeper: " << m << "\n";
    return 64;
  };
  const auto threshold = parse_duration_ms(a.threshold);
  if (!threshold)
    return usage(bad_value("--threshold", a.threshold,
                           "a positive duration of at least 1 ms and at most 30 days", "600, 10m"));
  KeySchema schema;
  if (!a.schema_file.empty()) {
    auto s = load_key_schema(a.schema_file);
    if (!s) return usage(s.error().message());
    schema = *s;
  }
  auto conn = resolve_connection_options(a.url);
  if (!conn) {
    std::cerr << "swarmkeeper: " << conn.error().message() << "\n";
    return conn.error().code() == Errc::invalid_argument ? 64 : 1;
  }
  ClientOptions o;
  o.connection = *conn;
  o.compression = false;  // the values as written
  o.min_connections = 1;
  o.max_connections = 2;
  o.acquire_timeout = std::chrono::seconds(3);  // a server that is not there: say so soon
  SyncRouter redis(o);  // one server, or every master of the cluster a node belongs to
  if (auto opened = redis.open(); !opened) {
    std::cerr << "swarmkeeper: cannot reach Redis at " << conn->host << ":" << conn->port << ": "
              << opened.error().message() << "\n";
    return opened.error().code() == Errc::invalid_argument ? 64 : 1;
  }
  const std::vector<SyncRouter::Master> nodes = redis.masters();

  // 1. Scan, paced.
  coord::KeyspaceSurvey survey(schema, *threshold);
  coord::Pacer pacer(a.max_busy);
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_sum(redis, nodes);
  std::uint64_t dbsize = 0;
  auto wall_ms = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  for (auto& n : nodes) {
    if (auto d = redis.at(n, resp::Command("DBSIZE")); d && d->root().as_integer())
      dbsize += static_cast<std::uint64_t>(d->integer());
    std::string cursor = "0";
    int pages = 0;
    do {
      auto page = redis.scan(n, cursor, 1000);
      if (!page) {
        std::cerr << "swarmkeeper: SCAN on " << n.name << ": " << page.error().message() << "\n";
        return 2;
      }
      cursor = std::move(page->first);
      for (const auto& k : page->second) survey.on_key(k);
      if (++pages % 8 == 0 && pacer.enabled()) {
        const auto pause = pacer.pause((cpu_sum(redis, nodes) - cpu0) * 1000, wall_ms());
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
      }
    } while (cursor != "0" && survey.keys_seen() < a.max_keys);
    if (survey.keys_seen() >= a.max_keys) break;
  }
  survey.finish();

  // 2. Samples, each read on its own node.
  std::int64_t now_ms = 0;
  if (auto t = redis.at(nodes[0], resp::Command("TIME")); t)
    if (const auto ms = resp::time_ms(t->root())) now_ms = *ms;
  const auto samples = survey.sample_keys();
  struct Pending {
    std::future<Result<resp::Reply>> type, ttl, value;
  };
  for (std::size_t at = 0; at < samples.size(); at += 300) {
    std::vector<Pending> p;
    const std::size_t end = std::min(samples.size(), at + 300);
    for (std::size_t i = at; i < end; ++i) {
      p.push_back({redis.command_async(resp::Command("TYPE").arg(samples[i])),
                   redis.command_async(resp::Command("PTTL").arg(samples[i])),
                   redis.command_async(resp::Command("GETRANGE").arg(samples[i]).arg(0).arg(4095))});
    }
    for (std::size_t i = at; i < end; ++i) {
      auto type = p[i - at].type.get();
      auto ttl = p[i - at].ttl.get();
      auto value = p[i - at].value.get();
      if (!type || !ttl || !type->root().is_string() || !ttl->root().as_integer()) continue;
      std::string v;
      const bool string = value && value->root().is_string();
      if (string) v = std::string(value->str());
      survey.on_sample(samples[i], type->str(), ttl->integer(), string ? &v : nullptr, now_ms);
    }
    if (pacer.enabled()) {
      const auto pause = pacer.pause((cpu_sum(redis, nodes) - cpu0) * 1000, wall_ms());
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
  }
  const double cpu_ms = (cpu_sum(redis, nodes) - cpu0) * 1000;

  if (a.suggest_schema) {
    std::cout << survey.suggest_schema().dump(2) << "\n";
    return 0;
  }

  // 3. What a cleanup would do now.
  std::optional<CleanupReport> dry;
  std::string dry_error;
  if (!a.no_dry_run) {
    CleanupOptions o;
    o.dry_run = true;
    o.threshold = std::chrono::milliseconds(*threshold);
    o.schema = schema;
    o.max_busy_percent = a.max_busy;
    o.audit = false;
    auto r = run_cleanup(*conn, o);
    if (r)
      dry = *r;
    else
      dry_error = r.error().message();
  }

  if (a.json) {
    auto j = survey.report_json();
    j["nodes"] = nodes.size();
    j["keysInDatabase"] = dbsize;
    j["redisCpuMs"] = std::round(cpu_ms * 10) / 10;
    j["wallMs"] = std::round(wall_ms());
    if (dry) {
      j["cleanupNow"] = {{"coordinators", dry->total_coordinators_checked},
                         {"active", dry->active_coordinators},
                         {"stale", dry->stale_coordinators_found},
                         {"invalid", dry->invalid_heartbeats},
                         {"absent", dry->absent_coordinators_found},
                         {"absentWaiting", dry->absent_waiting},
                         {"keysToDelete", dry->keys_deleted},
                         {"keysKeptAmbiguous", dry->keys_kept_ambiguous},
                         {"orphanKeys", dry->orphan_keys_seen},
                         {"notes", dry->notes},
                         {"errors", dry->errors}};
    } else if (!dry_error.empty()) {
      j["cleanupNow"] = {{"error", dry_error}};
    }
    j["suggestedSchema"] = survey.suggest_schema();
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << fmt::format(
      "{} ({}): {} keys seen of {} in {} shapes, {:.0f} ms, Redis CPU {:.1f} ms (budget {} %)\n\n",
      redis.cluster() ? "Redis Cluster" : "Redis",
      redis.cluster() ? fmt::format("{} masters", nodes.size())
                      : nodes[0].connection.host + ":" + std::to_string(nodes[0].connection.port),
      survey.keys_seen(), dbsize, survey.shapes().size(), wall_ms(), cpu_ms, a.max_busy);
  std::cout << survey.report_text() << "\n";
  std::uint64_t unclaimed = 0;
  for (const auto* s : survey.shapes()) unclaimed += s->claimed_by.empty() ? s->keys : 0;
  if (unclaimed > 0)
    std::cout << fmt::format(
        "{} keys are in shapes no family of the schema claims ((none) above): the cleanup never "
        "touches them. `swarmkeeper inspect --suggest-schema` writes a schema that reads the "
        "shapes that hold coordinator ids.\n",
        unclaimed);
  if (dry) {
    std::cout << fmt::format(
        "A cleanup now (threshold {} ms) would delete {} keys: {} coordinators ({} active, {} stale, {} "
        "invalid), {} absent "
        "(no liveness record left; {} still waiting), {} keys kept as ambiguous, {} orphan keys.\n",
        *threshold, dry->keys_deleted, dry->total_coordinators_checked, dry->active_coordinators,
        dry->stale_coordinators_found, dry->invalid_heartbeats, dry->absent_coordinators_found,
        dry->absent_waiting, dry->keys_kept_ambiguous, dry->orphan_keys_seen);
    if (dry->invalid_heartbeats > 0 && !dry->invalid_heartbeat_hint.empty())
      std::cout << "Heartbeats it cannot read: " << dry->invalid_heartbeat_hint << "\n";
    for (const auto& n : dry->notes) std::cout << "  note: " << n << "\n";
  } else if (!dry_error.empty()) {
    std::cout << "The dry-run cleanup could not run: " << dry_error << "\n";
  }
  return 0;
}

}  // namespace swarmkeeper::cli
