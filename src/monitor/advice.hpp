// SPDX-License-Identifier: Apache-2.0
// advice.hpp — trends over the history and plain-language recommendations where a rule
// of thumb exists. No I/O: fed the history, the latest values and a few facts.
//
// A trend is a series' change per minute over the window (last minus first point,
// divided by the minutes between them); it needs two points at least a minute apart.
// The rules:
//   - stale coordinators grew over the window while no cleanup succeeded for 30 min
//     (or none was ever recorded) → run the cleanup, or serve with --cleanup-every;
//   - memory above 80 % of maxmemory under maxmemory-policy noeviction → writes will
//     fail when it fills;
//   - probe P95 up by half or more while ops/s moved less than 10 % → look at slow
//     commands and big keys, not load.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "monitor/history.hpp"

namespace swarmkeeper::monitor {

struct Advice {
  std::map<std::string, double> trends_per_minute;  ///< series → change per minute
  std::vector<std::string> recommendations;
};

/// The series whose trends are computed.
const std::vector<std::string>& trended_series();

Advice advise(const History& history, const std::unordered_map<std::string, double>& values,
              const std::map<std::string, std::string>& facts, std::int64_t now_ms, std::int64_t window_ms);

}  // namespace swarmkeeper::monitor
