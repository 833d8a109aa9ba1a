// SPDX-License-Identifier: Apache-2.0
// alert_rules.cpp — the alert state machine and the rules file of alert_rules.hpp.
#include "swarmkeeper/monitor/alert_rules.hpp"

#include <nlohmann/json.hpp>

#include "resp/numbers.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

namespace swarmkeeper::monitor {

using namespace std::chrono_literals;

const char* to_string(AlertState s) {
  switch (s) {
    case AlertState::inactive: return "inactive";
    case AlertState::pending: return "pending";
    case AlertState::firing: return "firing";
    case AlertState::resolved: return "resolved";
  }
  return "?";
}

AlertEngine::AlertEngine(std::vector<AlertRule> rules) : rules_(std::move(rules)), alerts_(rules_.size()) {
  for (std::size_t i = 0; i < rules_.size(); ++i) alerts_[i].rule = &rules_[i];
}

namespace {

bool holds(AlertRule::Op op, double v, double t) {
  if (std::isnan(v)) return false;
  switch (op) {
    case AlertRule::Op::gt: return v > t;
    case AlertRule::Op::ge: return v >= t;
    case AlertRule::Op::lt: return v < t;
    case AlertRule::Op::le: return v <= t;
  }
  return false;
}

}  // namespace

std::vector<AlertTransition> AlertEngine::evaluate(const std::unordered_map<std::string, double>& values,
                                                   std::int64_t now_ms) {
  std::vector<AlertTransition> out;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const AlertRule& r = rules_[i];
    Alert& a = alerts_[i];
    auto it = values.find(r.series);
    a.value = it == values.end() ? std::nan("") : it->second;
    const bool now_true = holds(r.op, a.value, r.threshold);
    if (now_true) a.last_true_ms = now_ms;
    switch (a.state) {
      case AlertState::resolved:
      case AlertState::inactive:
        if (!now_true) {
          a.state = AlertState::inactive;
          break;
        }
        a.active_at_ms = now_ms;
        a.state = AlertState::pending;
        [[fallthrough]];
      case AlertState::pending:
        if (!now_true) {
          a.state = AlertState::inactive;
        } else if (now_ms - a.active_at_ms >= r.for_duration.count()) {
          a.state = AlertState::firing;
          a.fired_at_ms = now_ms;
          out.push_back({r.name, AlertState::firing, a});
        }
        break;
      case AlertState::firing:
        if (!now_true && now_ms - a.last_true_ms >= r.keep_firing_for.count()) {
          a.state = AlertState::resolved;
          a.resolved_at_ms = now_ms;
          out.push_back({r.name, AlertState::resolved, a});
        }
        break;
    }
  }
  return out;
}

std::vector<AlertRule> default_alert_rules(double stale_coordinators_max) {
  using Op = AlertRule::Op;
  return {
      {"RedisDown", "swarmkeeper_redis_up", Op::lt, 1, 1min, 0ms, "critical",
       "Redis does not answer the monitor (every master, on a cluster)"},
      {"RedisStalled", "swarmkeeper_redis_probe_outstanding_seconds", Op::gt, 2, 0ms, 0ms, "critical",
       "a PING has waited more than 2 s: Redis is stalled (a slow command, a fork, swapping)"},
      {"CensusFailing", "swarmkeeper_monitor_collector_stale{collector=\"census\"}", Op::gt, 0, 5min, 0ms,
       "warning", "the swarm census keeps failing: its figures are withdrawn"},
      {"RedisProbeLatencyHigh", "swarmkeeper_probe_latency_seconds{quantile=\"0.95\"}", Op::gt, 0.1, 1min,
       0ms, "warning", "Redis answers the monitor's PING slower than 100 ms at P95"},
      {"RedisErrorRateHigh", "swarmkeeper_redis_error_ratio", Op::gt, 0.02, 1min, 0ms, "warning",
       "more than 2 % of Redis commands end in an error reply"},
      {"StaleCoordinatorsHigh", "swarmkeeper_coordinators{state=\"stale\"}", Op::gt, stale_coordinators_max,
       5min, 0ms, "warning", "stale coordinators pile up: is the cleanup running?"},
      {"CleanupNotSucceeding", "swarmkeeper_cleanup_last_success_age_seconds", Op::gt, 1800, 0ms, 0ms,
       "warning", "stale coordinators exist and no cleanup succeeded for 30 minutes"},
      {"RedisMemoryNearMax", "swarmkeeper_redis_memory_used_ratio", Op::gt, 0.9, 5min, 0ms, "critical",
       "Redis uses more than 90 % of maxmemory"},
      {"CensusSlow", "swarmkeeper_census_duration_seconds", Op::gt, 5, 0ms, 0ms, "info",
       "the swarm census took longer than 5 s (large keyspace or a tight budget)"},
      {"BacklogScanSlow", "swarmkeeper_queue_scan_duration_seconds", Op::gt, 5, 0ms, 0ms, "warning",
       "scanning for queue backlogs took longer than 5 s"},
      {"AggregationSlow", "swarmkeeper_monitor_aggregation_seconds", Op::gt, 0.1, 1min, 0ms, "warning",
       "building a snapshot took longer than 100 ms"},
      {"EventsDropped", "swarmkeeper_monitor_events_dropped_per_minute", Op::gt, 100, 0ms, 0ms, "warning",
       "the monitor dropped more than 100 events in the last minute"},
      {"ActiveHandlesHigh", "swarmkeeper_monitor_active_handles", Op::gt, 1000, 1min, 0ms, "warning",
       "more than 1,000 scheduler handles are active: a leak?"},
  };
}

namespace {

// A rule's duration: what the flags take ("90", "1.5", "500ms", "30s", "10m", "1h", at
// most 30 days), or zero ("0", "0s": no wait), which the flags refuse.
std::optional<std::chrono::milliseconds> parse_rule_duration(const nlohmann::json& v) {
  const std::string text = v.is_string() ? v.get<std::string>() : v.is_number() ? v.dump() : "";
  if (const auto ms = parse_duration_ms(text)) return std::chrono::milliseconds(*ms);
  std::string_view number = text;
  for (std::string_view unit : {"ms", "s", "m", "h"})
    if (number.ends_with(unit)) {
      number.remove_suffix(unit.size());
      break;
    }
  if (parse_decimal(number, 0, 0)) return std::chrono::milliseconds(0);
  return std::nullopt;
}

}  // namespace

Result<std::vector<AlertRule>> parse_alert_rules(const std::string& text, const std::string& origin) {
  auto bad = [&](const std::string& what) {
    return Error(Errc::invalid_argument,
                 origin + ": " + what + " (see deploy/alert-rules.json for an example)");
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object() || !j.contains("rules") || !j["rules"].is_array())
    return bad("expected {\"rules\": [...]}");
  std::vector<AlertRule> rules;
  for (std::size_t i = 0; i < j["rules"].size(); ++i) {
    const auto& r = j["rules"][i];
    const std::string at = "rule " + std::to_string(i + 1);
    if (!r.is_object()) return bad(at + ": not an object");
    for (auto it = r.begin(); it != r.end(); ++it) {
      static const char* known[] = {"name", "series",          "op",       "threshold",
                                    "for",  "keep_firing_for", "severity", "summary"};
      if (std::find(std::begin(known), std::end(known), it.key()) == std::end(known))
        return bad(at + ": unknown field \"" + it.key() + "\"");
    }
    AlertRule rule;
    if (!r.contains("name") || !r["name"].is_string() || r["name"].get<std::string>().empty())
      return bad(at + ": \"name\" must be a non-empty string");
    rule.name = r["name"];
    if (std::any_of(rule.name.begin(), rule.name.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      return bad(at + ": \"name\" must not contain control characters (newlines, tabs)");
    const std::string who = at + " (" + rule.name + ")";
    if (!r.contains("series") || !r["series"].is_string() || r["series"].get<std::string>().empty())
      return bad(who + ": \"series\" must name a series, e.g. swarmkeeper_coordinators{state=\"stale\"}");
    rule.series = r["series"];
    if (r.contains("op") && !r["op"].is_string()) return bad(who + ": \"op\" must be one of > >= < <=");
    const std::string op = r.value("op", std::string(">"));
    if (op == ">")
      rule.op = AlertRule::Op::gt;
    else if (op == ">=")
      rule.op = AlertRule::Op::ge;
    else if (op == "<")
      rule.op = AlertRule::Op::lt;
    else if (op == "<=")
      rule.op = AlertRule::Op::le;
    else
      return bad(who + ": \"op\" must be one of > >= < <=");
    if (!r.contains("threshold") || !r["threshold"].is_number() ||
        !std::isfinite(r["threshold"].get<double>()))
      return bad(who + ": \"threshold\" must be a finite number");
    rule.threshold = r["threshold"];
    for (const char* field : {"for", "keep_firing_for"}) {
      if (!r.contains(field)) continue;
      auto d = parse_rule_duration(r[field]);
      if (!d)
        return bad(who + ": \"" + field + "\" must be a duration such as 0s, 30s, 5m, 1h (at most 30 days)");
      (std::string(field) == "for" ? rule.for_duration : rule.keep_firing_for) = *d;
    }
    for (const char* field : {"severity", "summary"})
      if (r.contains(field) && !r[field].is_string())
        return bad(who + ": \"" + field + "\" must be a string");
    rule.severity = r.value("severity", std::string("warning"));
    rule.summary = r.value("summary", std::string());
    for (const auto& other : rules)
      if (other.name == rule.name) return bad(who + ": a rule of that name is already defined");
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<std::vector<AlertRule>> load_alert_rules(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(Errc::invalid_argument, "--rules " + path + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_alert_rules(ss.str(), "--rules " + path);
}

}  // namespace swarmkeeper::monitor
