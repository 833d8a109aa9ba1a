// SPDX-License-Identifier: Apache-2.0
// backoff.hpp — when to try reconnecting: exponential backoff with full jitter. No I/O.
//
//   Backoff b({.initial = 50ms, .max = 5s});
//   auto wait = b.next_delay(rng);   // after a failure: 0..50 ms, then 0..100 ms, ... capped
//   b.reset();                       // after a success
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace swarmkeeper::client {

struct BackoffOptions {
  std::chrono::milliseconds initial{50};  ///< ceiling of the first delay
  std::chrono::milliseconds max{5000};    ///< ceiling of any delay
};

/// The ceiling after `failures` failures: min(max, initial * 2^failures). The one
/// doubling rule: Backoff draws under it, and fixed waits (the cluster's retries) use it.
constexpr std::chrono::milliseconds backoff_ceiling(BackoffOptions o, int failures) {
  const int shift = std::clamp(failures, 0, 20);
  return std::min(o.max, std::chrono::milliseconds(o.initial.count() << shift));
}

class Backoff {
 public:
  explicit Backoff(BackoffOptions o = {}) : opts_(o) {}
  /// The delay before the next attempt: uniform in [0, min(max, initial * 2^failures)].
  template <class Rng>
  std::chrono::milliseconds next_delay(Rng& rng) {
    const auto cap = ceiling();
    ++failures_;
    std::uniform_int_distribution<std::int64_t> d(0, cap.count());
    return std::chrono::milliseconds(d(rng));
  }
  /// The current ceiling (what the next delay is drawn under).
  std::chrono::milliseconds ceiling() const { return backoff_ceiling(opts_, failures_); }
  int failures() const noexcept { return failures_; }
  void reset() noexcept { failures_ = 0; }

 private:
  BackoffOptions opts_;
  int failures_ = 0;
};

}  // namespace swarmkeeper::client
