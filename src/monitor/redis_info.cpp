// SPDX-License-Identifier: Apache-2.0
// redis_info.cpp — INFO parsing and the samples of redis_info.hpp.
#include "monitor/redis_info.hpp"

#include <cstdlib>

namespace swarmkeeper::monitor {

namespace {

Sample g(std::string name, double v, std::string help,
         std::vector<std::pair<std::string, std::string>> labels = {}) {
  return Sample{std::move(name), std::move(labels), v, MetricType::gauge, std::move(help), {}};
}
Sample c(std::string name, double v, std::string help,
         std::vector<std::pair<std::string, std::string>> labels = {}) {
  return Sample{std::move(name), std::move(labels), v, MetricType::counter, std::move(help), {}};
}

}  // namespace

std::vector<Sample> redis_samples(const RedisInfo& info, const RedisInfo& prev) {
  std::vector<Sample> s;
  s.push_back(g("swarmkeeper_redis_up", 1, "1 when the last INFO succeeded"));
  const double used = info.number("used_memory"), max = info.number("maxmemory");
  s.push_back(g("swarmkeeper_redis_memory_used_bytes", used, "Memory Redis has allocated (used_memory)"));
  s.push_back(g("swarmkeeper_redis_memory_max_bytes", max, "maxmemory (0: no limit)"));
  if (max > 0) s.push_back(g("swarmkeeper_redis_memory_used_ratio", used / max, "used_memory / maxmemory"));
  s.push_back(g("swarmkeeper_redis_memory_fragmentation_ratio", info.number("mem_fragmentation_ratio"),
                "RSS / used_memory"));
  s.push_back(
      g("swarmkeeper_redis_connected_clients", info.number("connected_clients"), "Client connections"));
  s.push_back(g("swarmkeeper_redis_ops_per_second", info.number("instantaneous_ops_per_sec"),
                "Commands per second (Redis' own estimate)"));
  const double hits = info.number("keyspace_hits"), misses = info.number("keyspace_misses");
  s.push_back(g("swarmkeeper_redis_keyspace_hit_ratio", hits + misses > 0 ? hits / (hits + misses) : 1,
                "keyspace_hits / (hits + misses), since start"));
  s.push_back(
      c("swarmkeeper_redis_evicted_keys_total", info.number("evicted_keys"), "Keys evicted by maxmemory"));
  s.push_back(c("swarmkeeper_redis_rejected_connections_total", info.number("rejected_connections"),
                "Connections refused (maxclients)"));
  const double cmds = info.number("total_commands_processed"), errs = info.number("total_error_replies");
  s.push_back(c("swarmkeeper_redis_commands_processed_total", cmds, "Commands processed"));
  s.push_back(c("swarmkeeper_redis_error_replies_total", errs, "Error replies sent"));
  double ratio = 0;
  if (!prev.empty() && cmds > prev.number("total_commands_processed"))
    ratio = std::max(0.0, errs - prev.number("total_error_replies")) /
            (cmds - prev.number("total_commands_processed"));
  s.push_back(g("swarmkeeper_redis_error_ratio", ratio, "Error replies / commands over the last refresh"));
  s.push_back(
      g("swarmkeeper_redis_uptime_seconds", info.number("uptime_in_seconds"), "Seconds since Redis started"));
  s.push_back(c("swarmkeeper_redis_cpu_seconds_total",
                info.number("used_cpu_sys") + info.number("used_cpu_user"), "Redis CPU time (user + sys)"));
  for (const auto& [k, v] : info.fields) {
    if (k.size() > 2 && k[0] == 'd' && k[1] == 'b' &&
        k.find_first_not_of("0123456789", 2) == std::string::npos) {
      auto l = parse_info_list(v);
      s.push_back(g("swarmkeeper_redis_db_keys", l["keys"], "Keys per database", {{"db", k.substr(2)}}));
    } else if (k.rfind("cmdstat_", 0) == 0) {
      auto l = parse_info_list(v);
      const std::string cmd = k.substr(8);
      s.push_back(
          c("swarmkeeper_redis_command_calls_total", l["calls"], "Calls per command", {{"cmd", cmd}}));
      s.push_back(c("swarmkeeper_redis_command_duration_seconds_total", l["usec"] / 1e6,
                    "Server time per command", {{"cmd", cmd}}));
      s.push_back(c("swarmkeeper_redis_command_failed_calls_total", l["failed_calls"],
                    "Failed calls per command", {{"cmd", cmd}}));
    } else if (k.rfind("latency_percentiles_usec_", 0) == 0) {  // Redis 7: p50=1.003,p99=3.007,p99.9=10.015
      for (const auto& [p, usec] : parse_info_list(v))
        s.push_back(g("swarmkeeper_redis_command_latency_seconds", usec / 1e6,
                      "Server-side latency percentiles per command (latencystats)",
                      {{"cmd", k.substr(25)}, {"percentile", p}}));
    } else if (k.rfind("errorstat_", 0) == 0) {
      auto l = parse_info_list(v);
      s.push_back(c("swarmkeeper_redis_errors_total", l["count"], "Error replies by error prefix",
                    {{"error", k.substr(10)}}));
    }
  }
  return s;
}

std::vector<Sample> client_samples(const ClientMetricsSnapshot& m, const std::string& who) {
  std::vector<Sample> s;
  for (const auto& cmd : m.commands) {
    const std::vector<std::pair<std::string, std::string>> l = {{"client", who}, {"command", cmd.command}};
    s.push_back(
        c("swarmkeeper_client_commands_total", static_cast<double>(cmd.calls), "Commands a client sent", l));
    s.push_back(c("swarmkeeper_client_command_errors_total", static_cast<double>(cmd.errors),
                  "Commands that failed", l));
    for (auto [p, q] : {std::pair{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}}) {
      auto lp = l;
      lp.emplace_back("percentile", p);
      s.push_back(g("swarmkeeper_client_command_latency_seconds", cmd.latency_ns.percentile(q) / 1e9,
                    "Client-side command latency percentiles since start", lp));
    }
  }
  const std::vector<std::pair<std::string, std::string>> l = {{"client", who}};
  s.push_back(
      g("swarmkeeper_client_pool_connections", static_cast<double>(m.pool.open), "Pool connections open", l));
  s.push_back(
      g("swarmkeeper_client_pool_in_use", static_cast<double>(m.pool.in_use), "Pool connections in use", l));
  s.push_back(g("swarmkeeper_client_pool_waiters", static_cast<double>(m.pool.waiters),
                "Callers waiting for a connection", l));
  s.push_back(c("swarmkeeper_client_pool_failures_total", static_cast<double>(m.pool.failures),
                "Connections lost or failed to open", l));
  s.push_back(c("swarmkeeper_client_sent_bytes_total", static_cast<double>(m.bytes_out), "Bytes written", l));
  s.push_back(c("swarmkeeper_client_received_bytes_total", static_cast<double>(m.bytes_in), "Bytes read", l));
  s.push_back(g("swarmkeeper_client_pipeline_mean_batch", m.mean_batch(), "Commands per socket write", l));
  s.push_back(g("swarmkeeper_client_compression_saved_ratio", m.compression.savings_ratio(),
                "Share of bytes saved on compressed values", l));
  return s;
}

std::vector<Sample> census_samples(const CensusResult& r, double queue_scan_s) {
  std::vector<Sample> s;
  for (auto [state, n] : {std::pair{"active", r.active},
                          {"stale", r.stale},
                          {"invalid", r.invalid},
                          {"future", r.future},
                          {"absent", r.absent}})
    s.push_back(
        g("swarmkeeper_coordinators", static_cast<double>(n),
          "Coordinators by liveness at the last census (absent: no liveness record left, keys remain)",
          {{"state", state}}));
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < r.age_buckets.size(); ++i) {
    cumulative += r.age_buckets[i];
    Sample b = g("swarmkeeper_heartbeat_age_seconds_bucket", static_cast<double>(cumulative),
                 "Heartbeat ages at the last census",
                 {{"le", i < kAgeBounds.size() ? prom_number(kAgeBounds[i]) : "+Inf"}});
    b.type = MetricType::histogram;
    b.family = "swarmkeeper_heartbeat_age_seconds";
    s.push_back(std::move(b));
  }
  for (auto [suffix, v] : {std::pair{"_sum", r.age_sum_s}, {"_count", static_cast<double>(cumulative)}}) {
    Sample x =
        g(std::string("swarmkeeper_heartbeat_age_seconds") + suffix, v, "Heartbeat ages at the last census");
    x.type = MetricType::histogram;
    x.family = "swarmkeeper_heartbeat_age_seconds";
    s.push_back(std::move(x));
  }
  for (const auto& [family, n] : r.keys_per_family)
    s.push_back(g("swarmkeeper_keys", static_cast<double>(n), "Keys per family at the last census",
                  {{"family", family}}));
  s.push_back(g("swarmkeeper_keys_orphaned", static_cast<double>(r.orphan_keys),
                "Family keys that name no coordinator, living or absent (the cleanup's --orphans deletes "
                "them by their timestamps)"));
  s.push_back(g("swarmkeeper_keys_absent", static_cast<double>(r.absent_keys),
                "Keys of absent coordinators: no liveness record left (the cleanup reaps them)"));
  s.push_back(g("swarmkeeper_keys_ambiguous", static_cast<double>(r.ambiguous_keys),
                "Family keys whose structure allows several coordinators (the cleanup keeps them)"));
  s.push_back(g("swarmkeeper_keys_unchecked", static_cast<double>(r.unchecked_keys),
                "Family keys not checked for ownership (the census' memory cap)"));
  s.push_back(
      g("swarmkeeper_census_keys_scanned", static_cast<double>(r.keys_scanned), "Keys the last census saw"));
  s.push_back(g("swarmkeeper_census_duration_seconds", r.duration_s, "How long the last census took"));
  s.push_back(g("swarmkeeper_census_redis_cpu_seconds", r.redis_cpu_s,
                "Redis CPU (all clients) during the last census"));
  s.push_back(g("swarmkeeper_census_last_timestamp_seconds", static_cast<double>(r.finished_at_ms) / 1000,
                "When the last census finished (unix time)"));
  for (const auto& q : r.queues)
    s.push_back(g("swarmkeeper_queue_backlog", q.size,
                  "Queue sizes (LLEN / ZCARD / XLEN; a job counter's value)",
                  {{"key", q.key}, {"type", q.type}}));
  s.push_back(g("swarmkeeper_queue_keys_omitted", static_cast<double>(r.queue_keys_omitted),
                "Queue keys past the cap of 1,000, not sized"));
  s.push_back(g("swarmkeeper_queue_keys_too_long", static_cast<double>(r.queue_keys_too_long),
                "Queue keys whose names are longer than 1,024 bytes, not sized"));
  s.push_back(g("swarmkeeper_label_values_truncated", static_cast<double>(r.labels_truncated),
                "Queue key names cut to 256 bytes (and a hash) in their label at the last census"));
  s.push_back(g("swarmkeeper_queue_scan_duration_seconds", queue_scan_s,
                "How long sizing the queues took (found by the census' SCAN)"));
  return s;
}

}  // namespace swarmkeeper::monitor
