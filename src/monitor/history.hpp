// SPDX-License-Identifier: Apache-2.0
// history.hpp — every series' recent values at the refresh resolution, in bounded
// memory: a ring of `points` (time, value) per series, at most kMaxSeries series (new
// series past that are not kept). No I/O, no lock (the monitor holds its mutex).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace swarmkeeper::monitor {

class History {
 public:
  static constexpr std::size_t kMaxSeries = 5000;
  /// REQUIRES: points >= 2.
  explicit History(std::size_t points) : points_(points) {}
  void append(const std::string& series, std::int64_t t_ms, double v) {
    auto it = rings_.find(series);
    if (it == rings_.end()) {
      if (rings_.size() >= kMaxSeries) return;
      it = rings_.emplace(series, Ring{}).first;
      it->second.data.reserve(points_);
    }
    Ring& r = it->second;
    if (r.data.size() < points_) {
      r.data.emplace_back(t_ms, v);
    } else {
      r.data[r.head] = {t_ms, v};
      r.head = (r.head + 1) % points_;
    }
  }
  /// The points of `series` at or after since_ms, oldest first.
  std::vector<std::pair<std::int64_t, double>> read(const std::string& series, std::int64_t since_ms) const {
    std::vector<std::pair<std::int64_t, double>> out;
    auto it = rings_.find(series);
    if (it == rings_.end()) return out;
    const Ring& r = it->second;
    for (std::size_t i = 0; i < r.data.size(); ++i) {
      const auto& p = r.data[(r.head + i) % r.data.size()];
      if (p.first >= since_ms) out.push_back(p);
    }
    return out;
  }
  std::size_t series() const noexcept { return rings_.size(); }

 private:
  struct Ring {
    std::vector<std::pair<std::int64_t, double>> data;
    std::size_t head = 0;  // the oldest point once full
  };
  std::size_t points_;
  std::unordered_map<std::string, Ring> rings_;
};

}  // namespace swarmkeeper::monitor
