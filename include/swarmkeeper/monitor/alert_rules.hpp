// SPDX-License-Identifier: Apache-2.0
// alert_rules.hpp — alert rules and their states, Prometheus' way, with no I/O.
//
// A rule compares one series of the latest snapshot with a threshold. Its state:
//   inactive → pending    the condition holds (active_since = now)
//   pending  → firing     it has held for `for` (0: fires at once)
//   pending  → inactive   it stopped holding before that
//   firing   → resolved   it has not held for `keep_firing_for` (0: at once)
// A resolved alert becomes inactive on the next evaluation; a series that is absent
// from the snapshot counts as "not holding" (so an alert on a dead collector resolves
// rather than firing forever; the collector's own age alert covers that case).
// evaluate() returns the transitions that notifications are made of (firing, resolved).
//
// Rules file (JSON): {"rules": [{"name": "...", "series": "swarmkeeper_...{...}",
//   "op": ">", "threshold": 0.1, "for": "1m", "keep_firing_for": "0s",
//   "severity": "warning", "summary": "..."}]} — durations as in --threshold
//   (600, 10m, 1500ms). See deploy/alert-rules.json.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "swarmkeeper/error.hpp"

namespace swarmkeeper::monitor {

struct AlertRule {
  std::string name;
  std::string series;  ///< a series as /metrics shows it, e.g. swarmkeeper_x{state="stale"}
  enum class Op { gt, ge, lt, le } op = Op::gt;
  double threshold = 0;
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds keep_firing_for{0};
  std::string severity = "warning";
  std::string summary;
};

enum class AlertState { inactive, pending, firing, resolved };
const char* to_string(AlertState s);

struct Alert {
  const AlertRule* rule = nullptr;
  AlertState state = AlertState::inactive;
  double value = 0;                 ///< the series' value at the last evaluation (NaN: absent)
  std::int64_t active_at_ms = 0;    ///< when the condition started to hold (pending)
  std::int64_t fired_at_ms = 0;     ///< when it started firing
  std::int64_t resolved_at_ms = 0;  ///< when it resolved
  std::int64_t last_true_ms = 0;    ///< the last evaluation at which it held
};

struct AlertTransition {
  std::string rule;
  AlertState to = AlertState::inactive;  ///< firing or resolved
  Alert alert;
};

class AlertEngine {
 public:
  explicit AlertEngine(std::vector<AlertRule> rules);
  /// Evaluates every rule against `values` (series → value) at `now_ms`; returns the
  /// transitions to firing and to resolved, in rule order.
  std::vector<AlertTransition> evaluate(const std::unordered_map<std::string, double>& values,
                                        std::int64_t now_ms);
  const std::vector<AlertRule>& rules() const noexcept { return rules_; }
  const std::vector<Alert>& alerts() const noexcept { return alerts_; }

 private:
  std::vector<AlertRule> rules_;
  std::vector<Alert> alerts_;  // one per rule, same order
};

/// The built-in rules (the reference rules and ours); stale_threshold is the "stale coordinators
/// above N" bound.
std::vector<AlertRule> default_alert_rules(double stale_coordinators_max = 1000);
/// Reads rules from a JSON file; errors name the file, the rule and the field.
Result<std::vector<AlertRule>> load_alert_rules(const std::string& path);
/// Parses the JSON text of a rules file (`origin` names it in errors).
Result<std::vector<AlertRule>> parse_alert_rules(const std::string& text, const std::string& origin);

}  // namespace swarmkeeper::monitor
