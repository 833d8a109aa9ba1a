// SPDX-License-Identifier: Apache-2.0
// advice.cpp — the trends and rules of thumb of advice.hpp.
#include "monitor/advice.hpp"

#include <cmath>
#include <cstdio>

namespace swarmkeeper::monitor {

namespace {

const std::string kStale = "swarmkeeper_coordinators{state=\"stale\"}";
const std::string kP95 = "swarmkeeper_probe_latency_seconds{quantile=\"0.95\"}";
const std::string kOps = "swarmkeeper_redis_ops_per_second";
const std::string kMem = "swarmkeeper_redis_memory_used_ratio";
const std::string kCleanupAge = "swarmkeeper_cleanup_last_success_age_seconds";

struct Span {
  double first = 0, last = 0, minutes = 0;
  bool ok = false;
};

Span span(const History& h, const std::string& series, std::int64_t since_ms) {
  Span s;
  auto pts = h.read(series, since_ms);
  while (!pts.empty() && !std::isfinite(pts.front().second)) pts.erase(pts.begin());
  while (!pts.empty() && !std::isfinite(pts.back().second)) pts.pop_back();
  if (pts.size() < 2) return s;
  s.minutes = static_cast<double>(pts.back().first - pts.front().first) / 60000.0;
  if (s.minutes < 1) return s;
  s.first = pts.front().second;
  s.last = pts.back().second;
  s.ok = true;
  return s;
}

std::string num(double v, const char* f = "%.0f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

const std::vector<std::string>& trended_series() {
  static const std::vector<std::string> s = {
      kStale, "swarmkeeper_coordinators{state=\"active\"}", kP95,
      kOps,   "swarmkeeper_redis_memory_used_bytes",        "swarmkeeper_redis_error_ratio"};
  return s;
}

Advice advise(const History& history, const std::unordered_map<std::string, double>& values,
              const std::map<std::string, std::string>& facts, std::int64_t now_ms, std::int64_t window_ms) {
  Advice a;
  const std::int64_t since = now_ms - window_ms;
  for (const auto& series : trended_series()) {
    Span s = span(history, series, since);
    if (s.ok) a.trends_per_minute[series] = (s.last - s.first) / s.minutes;
  }
  auto value = [&](const std::string& k) {
    auto it = values.find(k);
    return it == values.end() ? std::nan("") : it->second;
  };

  if (Span s = span(history, kStale, since); s.ok && s.last > s.first) {
    const double age = value(kCleanupAge);
    if (std::isnan(age) || age > 1800)
      a.recommendations.push_back("Stale coordinators grew by " + num(s.last - s.first) + " in the last " +
                                  num(s.minutes) + " min and " +
                                  (std::isnan(age) ? std::string("no cleanup run is recorded")
                                                   : "no cleanup succeeded for " + num(age / 60) + " min") +
                                  ": run `swarmkeeper cleanup`, or start serve with --cleanup-every 5m.");
  }
  const auto policy = facts.find("maxmemory_policy");
  if (const double m = value(kMem); m > 0.8 && policy != facts.end() && policy->second == "noeviction")
    a.recommendations.push_back(
        "Redis is at " + num(m * 100) +
        " % of maxmemory with maxmemory-policy noeviction: writes fail once it is full. Raise "
        "maxmemory, or free memory (the cleanup deletes dead coordinators' keys).");
  const Span lat = span(history, kP95, since), ops = span(history, kOps, since);
  if (lat.ok && ops.ok && lat.first > 0 && lat.last >= lat.first * 1.5 && ops.first > 0 &&
      std::abs(ops.last - ops.first) / ops.first < 0.1)
    a.recommendations.push_back(
        "Redis latency (probe P95) rose " + num((lat.last / lat.first - 1) * 100) +
        " % while throughput stayed flat: look at SLOWLOG and big keys, not at load.");
  return a;
}

}  // namespace swarmkeeper::monitor
