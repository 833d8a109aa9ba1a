// SPDX-License-Identifier: Apache-2.0
// alert_delivery.cpp — alerts out: the structured log line, and the webhook (bodies for
// Alertmanager or plain JSON, delivery with retries, the notifier thread).
#include "monitor/monitor_impl.hpp"

namespace swarmkeeper::monitor {

// A line of the monitor's log: to opts.log, or as text on stderr.
void Monitor::Impl::say(const char* level, const std::string& message, const json& fields) const {
  if (opts.log) {
    opts.log(MonitorLogLine{level, message, dump(fields)});
    return;
  }
  std::fprintf(stderr, "swarmkeeper monitor: %s\n", message.c_str());
}

// A transition goes to the log and, with a webhook, to the notifier (never blocks).
void Monitor::Impl::notify(const AlertTransition& t) {
  say(t.to == AlertState::firing ? "warn" : "info",
      std::string("alert ") + t.rule + " " + to_string(t.to) + " (value " + prom_number(t.alert.value) +
          ", threshold " + prom_number(t.alert.rule->threshold) + ")",
      {{"alert", t.rule},
       {"state", to_string(t.to)},
       {"severity", t.alert.rule->severity},
       {"value", std::isfinite(t.alert.value) ? json(t.alert.value) : json(nullptr)},
       {"threshold", t.alert.rule->threshold}});
  if (!opts.webhook) return;
  NotifiedAlert a{t.rule,
                  t.alert.rule->severity,
                  t.alert.rule->series,
                  t.alert.rule->summary,
                  prom_number(t.alert.value),
                  t.to == AlertState::resolved,
                  t.alert.fired_at_ms,
                  t.to == AlertState::resolved ? t.alert.resolved_at_ms : 0};
  {
    std::lock_guard lock(notify_mu);
    notifier_state.on_transition(std::move(a), steady_ms());
  }
  notify_cv.notify_one();
}

std::int64_t Monitor::Impl::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

std::string Monitor::Impl::iso_time(std::int64_t ms) {
  std::time_t s = ms / 1000;
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
}

// Alertmanager's v2 API: one array of alerts. A plain webhook: Alertmanager's own
// notification object, one per alert.
std::vector<std::string> Monitor::Impl::webhook_bodies(const std::vector<NotifiedAlert>& batch) const {
  auto labels = [](const NotifiedAlert& a) {
    return json{
        {"alertname", a.name}, {"severity", a.severity}, {"series", a.series}, {"job", "swarmkeeper"}};
  };
  auto annotations = [](const NotifiedAlert& a) { return json{{"summary", a.summary}, {"value", a.value}}; };
  std::vector<std::string> bodies;
  if (webhook_alertmanager) {
    json alerts = json::array();
    for (const auto& a : batch) {
      json alert = {{"labels", labels(a)},
                    {"annotations", annotations(a)},
                    {"startsAt", iso_time(a.starts_at_ms)},
                    {"endsAt", iso_time(a.ends_at_ms)}};
      if (!generator_url.empty()) alert["generatorURL"] = generator_url;
      alerts.push_back(std::move(alert));
    }
    bodies.push_back(dump(alerts));
    return bodies;
  }
  for (const auto& a : batch) {
    json alert = {{"status", a.resolved ? "resolved" : "firing"},
                  {"labels", labels(a)},
                  {"annotations", annotations(a)},
                  {"startsAt", iso_time(a.starts_at_ms)},
                  {"endsAt", a.resolved ? iso_time(a.ends_at_ms) : "0001-01-01T00:00:00Z"}};
    if (!generator_url.empty()) alert["generatorURL"] = generator_url;
    json body = {{"version", "4"},
                 {"status", alert["status"]},
                 {"receiver", "swarmkeeper"},
                 {"groupLabels", {{"alertname", a.name}}},
                 {"commonLabels", alert["labels"]},
                 {"alerts", json::array({alert})}};
    if (!generator_url.empty()) body["externalURL"] = generator_url;
    bodies.push_back(dump(body));
  }
  return bodies;
}

// One delivery: every body POSTed. Returns how many of the batch's alerts went through
// (Alertmanager: all or none, one body; a webhook: one body per alert, in order, up to
// the first failure). A failure is counted by its reason and logged (never with the
// URL's credentials).
std::size_t Monitor::Impl::deliver(const std::vector<NotifiedAlert>& batch, int attempt) {
  const auto bodies = webhook_bodies(batch);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    auto r = http_post_json(webhook_target, bodies[i], std::chrono::seconds(5), stop_flag);
    if (r && *r >= 200 && *r < 300) {
      if (!webhook_alertmanager) ++webhook_sent;
      continue;
    }
    if (!r && r.error().code() == Errc::cancelled) return i;
    std::size_t reason = kWebhookFailures.size() - 1;
    if (r)
      reason = *r >= 500 ? 5 : *r >= 400 ? 4 : reason;
    else if (r.error().code() == Errc::dns_failure)
      reason = 0;
    else if (r.error().code() == Errc::connection_refused)
      reason = 1;
    else if (r.error().code() == Errc::timeout)
      reason = 2;
    else if (r.error().code() == Errc::tls_error)
      reason = 3;
    ++webhook_failures[reason];
    const std::string why = r ? "HTTP " + std::to_string(*r) : r.error().message();
    say("warn", "webhook attempt " + std::to_string(attempt) + " failed: " + why,
        {{"attempt", attempt}, {"reason", kWebhookFailures[reason]}, {"error", why}});
    return webhook_alertmanager ? 0 : i;
  }
  if (webhook_alertmanager) webhook_sent += batch.size();
  return batch.size();
}

void Monitor::Impl::notifier_loop() {
  std::unique_lock lock(notify_mu);
  while (!stop_flag) {
    auto batch = notifier_state.take_due(steady_ms(), wall_ms());
    if (batch.empty()) {
      const std::int64_t next = notifier_state.next_due_ms();
      const auto wait = std::chrono::milliseconds(std::clamp<std::int64_t>(next - steady_ms(), 1, 3600000));
      notify_cv.wait_for(lock, wait,
                         [&] { return stop_flag.load() || notifier_state.next_due_ms() <= steady_ms(); });
      continue;
    }
    const int attempt = notifier_state.attempt() + 1;
    lock.unlock();
    const std::size_t sent = deliver(batch, attempt);
    lock.lock();
    if (stop_flag) break;
    const auto dropped = notifier_state.delivered(sent == batch.size(), steady_ms(), sent);
    if (dropped.empty()) continue;
    webhook_dropped += dropped.size();
    std::string names;
    for (const auto& a : dropped)
      names += (names.empty() ? "" : ", ") + a.name + (a.resolved ? " (resolved)" : " (firing)");
    say("error",
        "gave up on " + std::to_string(dropped.size()) + " alert notification(s) after " +
            std::to_string(attempt) + " attempts: " + names +
            "; firing ones are sent again at their next resend",
        {{"dropped", dropped.size()}, {"alerts", names}});
  }
}

}  // namespace swarmkeeper::monitor
