// SPDX-License-Identifier: Apache-2.0
// collectors.cpp — the collectors: one PING per master, INFO of every master, CLUSTER INFO, the
// client figures, the cleanup's signs in Redis, and the scheduled cleanup (scheduler threads).
#include "monitor/monitor_impl.hpp"

namespace swarmkeeper::monitor {

// One PING per node. A failed one counts as latency too, at least the pool's 1 s wait
// (a caller of Redis would have waited that long). And the probe corrects for
// coordinated omission, as HdrHistogram's expected-interval recording does: a PING that
// took N probe intervals stands for the N PINGs that would have been sent meanwhile,
// each having waited that much less, so a stall weighs in P95 as callers felt it.
void Monitor::Impl::probe() {
  for (const auto& n : redis->masters()) {
    const auto t0 = Clock::now();
    probe_started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count();
    auto r = redis->at(n, resp::Command("PING"));
    probe_started_ns = 0;
    const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    for (auto seen = longest_wait_ns.load();
         took > seen && !longest_wait_ns.compare_exchange_weak(seen, took);) {
    }
    if (!r) {
      ++probe_failures;
      probe_latency.record(static_cast<std::uint64_t>(
          std::max<std::int64_t>(took, std::chrono::nanoseconds(kProbeFailureLatency).count())));
    } else {
      probe_latency.record(static_cast<std::uint64_t>(took));
    }
    const std::int64_t interval =
        std::chrono::nanoseconds(probe_every).count();  // the correction: measured time only
    int extra = 0;
    for (std::int64_t missed = took - interval; missed >= interval && extra < 100000;
         missed -= interval, ++extra)
      probe_latency.record(static_cast<std::uint64_t>(missed));
  }
}

// INFO of every node. On a cluster every sample carries node="host:port", and the
// series the dashboard reads also come as cluster totals (no node label).
void Monitor::Impl::collect_redis() {
  const auto t0 = Clock::now();
  std::vector<Sample> all;
  std::map<std::string, std::string> facts;
  std::string failure;
  std::map<std::string, double> sums;
  double min_up = 1, max_mem_ratio = 0, d_cmds = 0, d_errs = 0;
  if (auto opened = redis->open(); !opened) {
    // Answered but refused (a database other than 0 on a cluster, credentials): say why,
    // once, as "unreachable" would mislead.
    const Error& e = opened.error();
    const bool refused = e.code() == Errc::invalid_argument || e.code() == Errc::auth_failed ||
                         e.code() == Errc::no_permission;
    if (refused && e.message() != refusal_said) {
      refusal_said = e.message();
      say("error", "Redis answered but cannot be watched: " + e.message(), {{"error", e.message()}});
    }
  }
  const auto set = redis->masters();
  const bool cluster = redis->cluster();
  bool all_answered = true;
  for (const auto& n : set) {
    RedisInfo& prev = prev_info[n.name];
    auto info = redis->at(n, resp::Command("INFO").arg("everything"));
    if (!info) {
      failure = (cluster ? n.name + ": " : std::string()) + info.error().message();
      Sample down = gauge("swarmkeeper_redis_up", 0, "1 when the last INFO succeeded");
      if (cluster) down.labels.emplace_back("node", n.name);
      all.push_back(std::move(down));
      min_up = 0;
      all_answered = false;
      continue;
    }
    auto slowlog = redis->at(n, resp::Command("SLOWLOG").arg("LEN"));
    RedisInfo parsed = net::parse_info(info->str());
    std::vector<Sample> s = redis_samples(parsed, prev);
    if (slowlog)
      s.push_back(gauge("swarmkeeper_redis_slowlog_length", static_cast<double>(slowlog->integer()),
                        "Entries in SLOWLOG"));
    for (const char* f : {"redis_version", "maxmemory_policy", "role", "redis_mode"})
      if (auto it = parsed.fields.find(f); it != parsed.fields.end()) facts[f] = it->second;
    if (cluster) {
      for (auto& x : s) {
        if (x.labels.empty() || x.labels[0].first != "cmd")
          sums[x.name] += x.value;  // per-command series: per node only
        if (x.name == "swarmkeeper_redis_memory_used_ratio") max_mem_ratio = std::max(max_mem_ratio, x.value);
        x.labels.insert(x.labels.begin(), {"node", n.name});
      }
      if (!prev.empty()) {
        d_cmds += parsed.number("total_commands_processed") - prev.number("total_commands_processed");
        d_errs += parsed.number("total_error_replies") - prev.number("total_error_replies");
      }
    }
    prev = std::move(parsed);
    all.insert(all.end(), std::make_move_iterator(s.begin()), std::make_move_iterator(s.end()));
  }
  if (cluster && all_answered) {  // sums over some masters would pass for the cluster's
    for (const char* name :
         {"swarmkeeper_redis_memory_used_bytes", "swarmkeeper_redis_memory_max_bytes",
          "swarmkeeper_redis_connected_clients", "swarmkeeper_redis_ops_per_second",
          "swarmkeeper_redis_evicted_keys_total", "swarmkeeper_redis_commands_processed_total",
          "swarmkeeper_redis_error_replies_total", "swarmkeeper_redis_cpu_seconds_total"}) {
      Sample t = gauge(name, sums[name], "Sum over the cluster's masters");
      if (std::string_view(name).ends_with("_total")) t.type = MetricType::counter;
      all.push_back(std::move(t));
    }
    if (max_mem_ratio > 0)
      all.push_back(gauge("swarmkeeper_redis_memory_used_ratio", max_mem_ratio,
                          "The fullest master's used_memory / maxmemory"));
    all.push_back(gauge("swarmkeeper_redis_error_ratio", d_cmds > 0 ? std::max(0.0, d_errs) / d_cmds : 0,
                        "Error replies / commands over the last refresh, all masters"));
  }
  if (cluster) {
    all.push_back(gauge("swarmkeeper_redis_up", min_up, "1 when every master answered INFO"));
    cluster_samples(all, set);
    if (!all_answered) redis->refresh();  // a failover may have promoted a replica
  }
  // An outage is logged once as it starts and once as it ends.
  if (!all_answered && redis_down_since_ms == 0) {
    redis_down_since_ms = wall_ms();
    say("error", "Redis unreachable: " + failure + "; serving what is known and retrying",
        {{"error", failure}});
  } else if (all_answered && redis_down_since_ms != 0) {
    const double down_s = static_cast<double>(wall_ms() - redis_down_since_ms.load()) / 1000;
    redis_down_since_ms = 0;
    say("info", "Redis reachable again after " + prom_number(std::round(down_s * 10) / 10) + " s",
        {{"downSeconds", down_s}});
  }
  if (!failure.empty() && !cluster) {
    store("redis", std::move(all), t0, failure, {}, /*replace=*/true);
    return;
  }
  store("redis", std::move(all), t0, failure, std::move(facts), /*replace=*/true);
}

// CLUSTER INFO as seen by the first master that answers: state and slot coverage.
void Monitor::Impl::cluster_samples(std::vector<Sample>& out, const std::vector<SyncRouter::Master>& set) {
  for (const auto& n : set) {
    auto r = redis->at(n, resp::Command("CLUSTER").arg("INFO"));
    if (!r || !r->root().is_string()) continue;
    auto info = net::parse_info(r->str());
    out.push_back(gauge("swarmkeeper_cluster_state_ok", info.fields["cluster_state"] == "ok" ? 1 : 0,
                        "1 when the cluster says cluster_state:ok"));
    for (const char* f : {"cluster_slots_assigned", "cluster_slots_ok", "cluster_slots_pfail",
                          "cluster_slots_fail", "cluster_known_nodes", "cluster_size"})
      out.push_back(gauge(std::string("swarmkeeper_") + f, info.number(f), std::string("CLUSTER INFO ") + f));
    out.push_back(gauge("swarmkeeper_cluster_masters_watched", static_cast<double>(set.size()),
                        "Masters this monitor watches"));
    return;
  }
}

void Monitor::Impl::collect_clients() {
  const auto t0 = Clock::now();
  std::vector<Sample> s = client_samples(redis->metrics(), "monitor");
  if (opts.app_client_metrics) {
    try {
      auto app = client_samples(opts.app_client_metrics(), "app");
      s.insert(s.end(), app.begin(), app.end());
    } catch (const std::exception& e) {
      store("clients", {}, t0, std::string("app_client_metrics threw: ") + e.what());
      return;
    }
  }
  store("clients", std::move(s), t0);
}

// The cleanup leaves the keyspace as it found it apart from what it deletes, so the
// signs of a successful run are its audit entries (a run that reaped something) and
// the runs this monitor made itself. (Each read goes to its key's owner: asking the
// other masters would cost them MOVED error replies, and the error rate alert.)
void Monitor::Impl::collect_cleanup() {
  const auto t0 = Clock::now();
  std::vector<Sample> s;
  auto newest = redis->command(
      resp::Command("XREVRANGE").arg("swarmkeeper:reaped").arg("+").arg("-").arg("COUNT").arg(1));
  if (!newest) {
    store("cleanup", {}, t0, newest.error().message());
    return;
  }
  if (newest->size() > 0 && newest->root()[0].size() > 0) {
    const std::string id((*newest)[0][0].str());  // "<ms>-<seq>"
    const double ms = std::strtod(id.c_str(), nullptr);
    if (ms > 0) {
      s.push_back(gauge("swarmkeeper_cleanup_last_reap_timestamp_seconds", ms / 1000,
                        "When the cleanup last reaped coordinators (its newest audit entry, unix time)"));
      last_success_ms = std::max(last_success_ms.load(), ms);
    }
  }
  auto lock = redis->command(resp::Command("EXISTS").arg("swarmkeeper:cleanup:lock"));
  if (lock)
    s.push_back(gauge("swarmkeeper_cleanup_lock_held", static_cast<double>(lock->integer()),
                      "1 while a cleanup holds the lock"));
  auto audit = redis->command(resp::Command("XLEN").arg("swarmkeeper:reaped"));
  if (audit)
    s.push_back(gauge("swarmkeeper_cleanup_audit_entries", static_cast<double>(audit->integer()),
                      "Entries in the audit stream swarmkeeper:reaped"));
  store("cleanup", std::move(s), t0);
}

void Monitor::Impl::run_cleanup_now(std::stop_token st) {
  CleanupOptions co;
  co.schema = opts.schema;
  co.threshold = std::chrono::milliseconds(opts.stale_threshold_ms);
  co.stop = &stop_flag;
  (void)st;
  auto rep = swarmkeeper::run_cleanup(opts.connection, co);
  json run = {{"startedAt", wall_ms()}};
  if (!rep) {
    run["error"] = rep.error().message();
    say("error", "scheduled cleanup could not run: " + rep.error().message(),
        {{"error", rep.error().message()}});
  } else {
    if (!rep->errors.empty())
      say("error",
          "scheduled cleanup ended with " + std::to_string(rep->errors.size()) +
              " error(s); the first: " + rep->errors.front(),
          {{"errors", rep->errors}, {"keysDeleted", rep->keys_deleted}});
    run["keysDeleted"] = rep->keys_deleted;
    run["staleFound"] = rep->stale_coordinators_found;
    run["coordinators"] = rep->total_coordinators_checked;
    run["ms"] = rep->execution_time_ms;
    run["lockBusy"] = rep->lock_busy;
    run["errors"] = rep->errors;
    if (rep->errors.empty() && !rep->lock_busy)
      last_success_ms = std::max(last_success_ms.load(), static_cast<double>(wall_ms()));
  }
  sched::Lock lock(mu);
  cleanup_runs.push_back(std::move(run));
  if (cleanup_runs.size() > 20) cleanup_runs.erase(cleanup_runs.begin());
}

}  // namespace swarmkeeper::monitor
