// SPDX-License-Identifier: Apache-2.0
// pacer.hpp — keeps a run's share of the server's CPU under a budget (--max-busy), with
// no I/O: fed the server CPU the run has cost so far and the wall time it has taken, it
// says how long to pause so that busy / wall comes back to the budget.
//
//   Pacer pacer(20);                                   // at most 20 % of wall time
//   auto pause = pacer.pause(busy_ms, wall_ms);        // 0 while under budget
#pragma once

#include <algorithm>
#include <chrono>

namespace swarmkeeper::coord {

class Pacer {
 public:
  /// max_busy_percent in (0, 100]; 0 (or less) means unpaced.
  explicit Pacer(double max_busy_percent) : percent_(max_busy_percent) {}

  /// The pause that brings busy_ms / (wall_ms + pause) down to the budget, at most 1 s
  /// at a time (the caller measures again after it). Zero when unpaced or under budget.
  std::chrono::microseconds pause(double busy_ms, double wall_ms) const {
    if (percent_ <= 0 || !(busy_ms > wall_ms * percent_ / 100.0)) return std::chrono::microseconds(0);
    const double needed_ms = busy_ms * 100.0 / percent_ - wall_ms;
    return std::chrono::microseconds(static_cast<long long>(std::min(1000.0, needed_ms) * 1000));
  }
  bool enabled() const noexcept { return percent_ > 0; }

 private:
  double percent_;
};

}  // namespace swarmkeeper::coord
