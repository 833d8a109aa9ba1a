// SPDX-License-Identifier: Apache-2.0
// snapshot.cpp — the aggregation step: a collector's results stored, then every refresh one
// snapshot (samples, history, alerts, /metrics text, the dashboard's JSON).
#include "monitor/monitor_impl.hpp"

namespace swarmkeeper::monitor {

// A collector's results. On failure (error set) the previous samples stay (each with
// the collector's age beside it), unless replace: then `samples` stand instead.
void Monitor::Impl::store(const std::string& name, std::vector<Sample> samples, Clock::time_point t0,
                          std::string error, std::map<std::string, std::string> facts, bool replace) {
  sched::Lock lock(mu);
  Collected& c = collected[name];
  if (error.empty() || replace) {
    c.samples = std::move(samples);
    c.facts = std::move(facts);
  }
  c.current = error.empty() || replace;
  c.at = Clock::now();
  if (error.empty()) {
    c.ok_at = c.at;
    c.failing_since = {};
  } else if (c.failing_since == Clock::time_point{}) {
    c.failing_since = c.at;
  }
  c.duration_s = seconds_since(t0);
  c.error = std::move(error);
}

void Monitor::Impl::aggregate() {
  const auto t0 = Clock::now();
  probe_collector.advance(t0);
  std::vector<Sample> all;
  const auto ps = probe_collector.snapshot();
  for (const auto& series : ps.series) {
    const auto& w = series.windows[static_cast<int>(metrics::Window::m1)];
    const std::string help = "Monitor PING round trip over the last minute";
    for (auto [q, v] : {std::pair{"0.5", w.p50}, {"0.95", w.p95}, {"0.99", w.p99}})
      all.push_back(Sample{
          "swarmkeeper_probe_latency_seconds", {{"quantile", q}}, v / 1e9, MetricType::summary, help, {}});
    all.push_back(Sample{"swarmkeeper_probe_latency_seconds_sum",
                         {},
                         w.mean * static_cast<double>(w.count) / 1e9,
                         MetricType::summary,
                         help,
                         "swarmkeeper_probe_latency_seconds"});
    all.push_back(Sample{"swarmkeeper_probe_latency_seconds_count",
                         {},
                         static_cast<double>(w.count),
                         MetricType::summary,
                         help,
                         "swarmkeeper_probe_latency_seconds"});
  }
  all.push_back(counter("swarmkeeper_probe_failures_total", static_cast<double>(probe_failures.load()),
                        "PINGs that failed"));
  // The longest wait since the last snapshot: the PING in flight, or one that came back
  // meanwhile (a stall shorter than a refresh shows too).
  const std::int64_t waiting_since = probe_started_ns.load();
  const std::int64_t waiting =
      waiting_since == 0
          ? 0
          : std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count() -
                waiting_since;
  all.push_back(gauge(
      "swarmkeeper_redis_probe_outstanding_seconds",
      static_cast<double>(std::max(waiting, longest_wait_ns.exchange(0))) / 1e9,
      "The longest a PING waited since the last snapshot, the one in flight included: a stall shows while it "
      "lasts (about 1 s while Redis refuses connections: each failed attempt counts as 1 s)"));
  const std::uint64_t dropped = webhook_dropped.load();
  if (opts.webhook) {
    all.push_back(
        counter("swarmkeeper_webhook_sent_total", static_cast<double>(webhook_sent.load()),
                "Alert notifications the webhook accepted (2xx); re-sends of firing alerts included"));
    for (std::size_t i = 0; i < kWebhookFailures.size(); ++i)
      all.push_back(counter(
          "swarmkeeper_webhook_failures_total", static_cast<double>(webhook_failures[i].load()),
          "Webhook deliveries that failed, by reason (each is retried)", {{"reason", kWebhookFailures[i]}}));
    all.push_back(counter("swarmkeeper_webhook_dropped_total", static_cast<double>(dropped),
                          "Alert notifications given up after every retry failed"));
    std::lock_guard lock(notify_mu);
    all.push_back(gauge("swarmkeeper_webhook_firing_alerts", static_cast<double>(notifier_state.firing()),
                        "Firing alerts re-sent to the webhook every resend interval"));
  }
  sched::Lock lock(mu);
  drops_seen.emplace_back(t0, dropped);
  while (drops_seen.size() > 1 && t0 - drops_seen.front().first > std::chrono::minutes(1))
    drops_seen.pop_front();
  for (const auto& [name, c] : collected) {
    // A collector that keeps failing: its figures are withdrawn once it has failed for
    // three of its periods (no alert fires or stays pending on them; the page says
    // why). One failed pass of a slow census does not withdraw them.
    const auto ok_at = c.ok_at == Clock::time_point{} ? started_at : c.ok_at;
    const auto period = std::max(opts.refresh, name == "census" ? opts.census_interval : opts.refresh);
    const bool stale =
        !c.current && c.failing_since != Clock::time_point{} && t0 - c.failing_since > 3 * period;
    if (!stale) all.insert(all.end(), c.samples.begin(), c.samples.end());
    all.push_back(gauge("swarmkeeper_monitor_collector_age_seconds", seconds_since(ok_at),
                        "Seconds since the collector last succeeded (or since the monitor started)",
                        {{"collector", name}}));
    all.push_back(gauge("swarmkeeper_monitor_collector_stale", stale ? 1 : 0,
                        "1 when the collector keeps failing and its figures are withdrawn",
                        {{"collector", name}}));
    all.push_back(gauge("swarmkeeper_monitor_collector_duration_seconds", c.duration_s,
                        "How long the collector's last run took", {{"collector", name}}));
    all.push_back(gauge("swarmkeeper_monitor_collector_up", c.error.empty() ? 1 : 0,
                        "1 if the collector's last run succeeded", {{"collector", name}}));
  }
  all.push_back(gauge("swarmkeeper_monitor_aggregation_seconds", aggregation_s,
                      "How long building the previous snapshot took"));
  all.push_back(counter("swarmkeeper_monitor_events_dropped_total", static_cast<double>(dropped),
                        "Alert notifications dropped (given up after every retry)"));
  all.push_back(gauge("swarmkeeper_monitor_events_dropped_per_minute",
                      static_cast<double>(dropped - drops_seen.front().second),
                      "Alert notifications dropped in the last minute"));
  all.push_back(gauge("swarmkeeper_monitor_active_jobs",
                      static_cast<double>(sched->active_jobs() + aggregator->active_jobs()),
                      "Scheduler jobs not yet ended"));
  all.push_back(gauge("swarmkeeper_monitor_active_handles",
                      static_cast<double>(sched->active_handles() + aggregator->active_handles()),
                      "Scheduler handles alive"));
  if (http) {
    all.push_back(gauge("swarmkeeper_monitor_http_connections", static_cast<double>(http->connections()),
                        "HTTP connections open (event streams included)"));
    all.push_back(counter("swarmkeeper_monitor_http_refused_total", static_cast<double>(http->refused()),
                          "HTTP connections closed at accept: every slot busy"));
    all.push_back(counter("swarmkeeper_monitor_http_evicted_total", static_cast<double>(http->evicted()),
                          "Idle HTTP connections closed to make room"));
  }
  all.push_back(gauge("swarmkeeper_monitor_resident_memory_bytes", metrics::resident_memory_bytes(),
                      "The monitor's resident memory"));
  all.push_back(counter("swarmkeeper_monitor_scrapes_total", static_cast<double>(scrapes.load()),
                        "/metrics requests served"));
  all.push_back(gauge("swarmkeeper_monitor_scrape_duration_seconds", last_scrape_s.load(),
                      "How long the last /metrics request took to answer (its body is the last snapshot)"));

  // Overdue cleanup: seconds since the last sign of a successful run (or since this
  // monitor started), while the census sees stale coordinators; 0 when it sees none.
  {
    double stale = 0;
    for (const auto& s : all)
      if (s.name == "swarmkeeper_coordinators" && !s.labels.empty() && s.labels[0].second == "stale")
        stale = s.value;
    const double since = std::max(last_success_ms.load(), static_cast<double>(started_ms));
    all.push_back(gauge(
        "swarmkeeper_cleanup_last_success_age_seconds",
        stale > 0 ? (static_cast<double>(wall_ms()) - since) / 1000 : 0,
        "Seconds since the last sign of a successful cleanup (an audit entry, or a run by this monitor) "
        "while stale coordinators exist; 0 when there are none"));
  }
  std::unordered_map<std::string, double> values;
  for (const auto& s : all) values[s.series()] = s.value;
  const std::int64_t now = wall_ms();
  for (const auto& t : alerts.evaluate(values, now)) notify(t);
  for (const auto& a : alerts.alerts()) {
    if (a.state != AlertState::pending && a.state != AlertState::firing) continue;
    all.push_back(gauge(
        "swarmkeeper_alerts", 1, "Alerts pending or firing (like Prometheus' ALERTS)",
        {{"alertname", a.rule->name}, {"alertstate", to_string(a.state)}, {"severity", a.rule->severity}}));
  }
  for (const auto& s : all) history.append(s.series(), now, s.value);
  std::map<std::string, std::string> facts;
  for (const auto& [name, c] : collected) facts.insert(c.facts.begin(), c.facts.end());
  const Advice advice = advise(history, values, facts, now, opts.history.count());
  all.push_back(gauge("swarmkeeper_build_info", 1,
                      "The version and git revision of this swarmkeeper (always 1)",
                      {{"version", std::string(swarmkeeper::version())},
                       {"revision", std::string(swarmkeeper::revision())}}));
  all.push_back(
      gauge("swarmkeeper_web_insecure", insecure_listener ? 1 : 0,
            "1: the dashboard listens beyond loopback without TLS, or without users or client certificates"));
  if (http) {
    all.push_back(
        gauge("swarmkeeper_web_tls", http->tls() ? 1 : 0, "1: the dashboard speaks TLS (--web-config)"));
    all.push_back(gauge("swarmkeeper_web_authentication", http->authenticates() ? 1 : 0,
                        "1: requests need basic-auth credentials (--web-config basic_auth_users)"));
    all.push_back(counter("swarmkeeper_web_auth_failures_total", static_cast<double>(http->auth_failures()),
                          "Requests with wrong or malformed credentials (each source slowed after 3)"));
    all.push_back(counter(
        "swarmkeeper_web_tls_handshake_failures_total", static_cast<double>(http->tls_failures()),
        "TLS handshakes that failed (plain HTTP to the TLS port, old TLS, refused client certificates)"));
  }
  if (!opts.web_config_file.empty()) {
    all.push_back(
        gauge("swarmkeeper_web_config_last_reload_successful", web_reload_ok ? 1 : 0,
              "0: the last change to --web-config was invalid and the previous config stays in force"));
    all.push_back(gauge("swarmkeeper_web_config_last_reload_success_timestamp_seconds", web_reload_ok_at_s,
                        "When --web-config was last read successfully"));
  }
  all.push_back(gauge("swarmkeeper_recommendations", static_cast<double>(advice.recommendations.size()),
                      "Recommendations the monitor makes right now (see the dashboard or /api/snapshot)"));
  metrics_text = render_prometheus(all);
  json values_json = json::object();
  for (const auto& s : all) values_json[s.series()] = std::isfinite(s.value) ? json(s.value) : json(nullptr);
  snapshot = {
      {"at", now},
      {"refreshMs", opts.refresh.count()},
      {"values", std::move(values_json)},
      {"alerts", alerts_locked()},
      {"cleanupRuns", cleanup_runs},
      {"census", census_json_locked()},
      {"trendsPerMinute", advice.trends_per_minute},
      {"recommendations", advice.recommendations},
      {"facts", facts},
      {"redisDownSince", redis_down_since_ms.load() == 0 ? json(nullptr) : json(redis_down_since_ms.load())}};
  ++version;
  aggregation_s = seconds_since(t0);
}

json Monitor::Impl::census_json_locked() const {
  auto it = collected.find("census");
  json j = {{"complete", it != collected.end() && !it->second.samples.empty()}};
  if (it != collected.end()) j["error"] = it->second.error;
  return j;
}

json Monitor::Impl::alerts_locked() const {
  json out = json::array();
  for (const auto& a : alerts.alerts()) {
    out.push_back({{"name", a.rule->name},
                   {"series", a.rule->series},
                   {"severity", a.rule->severity},
                   {"summary", a.rule->summary},
                   {"state", to_string(a.state)},
                   {"value", std::isfinite(a.value) ? json(a.value) : json(nullptr)},
                   {"threshold", a.rule->threshold},
                   {"activeAt", a.active_at_ms},
                   {"firedAt", a.fired_at_ms},
                   {"resolvedAt", a.resolved_at_ms}});
  }
  return out;
}

json Monitor::Impl::history_json_locked(const std::string& series, std::chrono::milliseconds window) const {
  json t = json::array(), v = json::array();
  for (const auto& [ms, value] : history.read(series, wall_ms() - window.count())) {
    t.push_back(ms);
    v.push_back(std::isfinite(value) ? json(value) : json(nullptr));
  }
  return {{"series", series}, {"t", std::move(t)}, {"v", std::move(v)}};
}

}  // namespace swarmkeeper::monitor
