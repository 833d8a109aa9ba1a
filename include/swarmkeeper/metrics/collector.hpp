// SPDX-License-Identifier: Apache-2.0
// collector.hpp — named metric series with time windows (no Redis knowledge).
//
// Three kinds of series, registered by name (registration allocates and locks once;
// recording never does either):
//   Counter  add(n)       a monotonic count; windows give the increase (and rate)
//   Gauge    set(v)       a level; windows give the last, min and max of per-slot values
//   Latency  record(ns)   a distribution in a Histogram (histogram.hpp, < 1 % error);
//                         windows give count, mean, P50/P95/P99/P99.9 and max
// Windows are the last 1 min, 5 min and 1 h at 5 s resolution, kept in bounded ring
// buffers (720 slots per series). advance(now) closes the slots whose time has passed;
// call it from a timer (the monitor runs it on the scheduler) or not at all for totals.
//
// No sample is lost, whatever the timing of advance() and snapshot() against recorders:
// a latency series never resets its histogram; a slot holds the difference between two
// readings of the cumulative counts, so a sample recorded during a reading lands in this
// slot or the next, never in none. Slots keep only their non-zero buckets.
//
// Threading: record/add/set from any thread, lock-free and allocation-free. advance(),
// snapshot() and registration take the collector's mutex (never held by recorders).
//
//   Collector c;
//   auto& lat = c.latency("redis_command_seconds");
//   lat.record(elapsed_ns);                              // hot path
//   c.advance(std::chrono::steady_clock::now());         // every 5 s
//   auto s = c.snapshot();                               // s.series[i].windows[Window::m1].p99
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/metrics/histogram.hpp"

namespace swarmkeeper::metrics {

enum class Window : std::uint8_t { m1, m5, h1 };
inline constexpr std::array<std::chrono::seconds, 3> kWindowLength{
    std::chrono::seconds(60), std::chrono::seconds(300), std::chrono::seconds(3600)};
inline constexpr std::chrono::seconds kSlot{5};
inline constexpr std::size_t kSlots = 720;  // 1 h at 5 s

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Latency {
 public:
  void record(std::uint64_t v) noexcept { hist_.record(v); }
  Histogram::Snapshot total() const noexcept { return hist_.snapshot(); }

 private:
  Histogram hist_;
};

/// One series as read by snapshot().
struct SeriesSnapshot {
  enum class Kind : std::uint8_t { counter, gauge, latency };
  struct WindowFigures {
    std::uint64_t count = 0;                               ///< counter: the increase; latency: samples
    double rate_per_s = 0;                                 ///< counter: increase / window length covered
    double last = 0, min = 0, max = 0;                     ///< gauge: per-slot values; latency: max sample
    double mean = 0, p50 = 0, p95 = 0, p99 = 0, p999 = 0;  ///< latency
    Histogram::Snapshot histogram;                         ///< latency: the window's distribution (mergeable)
  };
  std::string name;
  Kind kind = Kind::counter;
  double total = 0;  ///< counter: all-time count; gauge: the current value; latency: all-time samples
  std::array<WindowFigures, 3> windows{};
};

struct CollectorSnapshot {
  std::vector<SeriesSnapshot> series;
};

class Collector {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Collector(Clock::time_point start = Clock::now());
  ~Collector();

  /// The series of that name, created on first use. The reference stays valid for the
  /// collector's life. A name used for one kind cannot be another (the first kind wins:
  /// asking for another kind returns a detached series that is never reported).
  Counter& counter(std::string_view name);
  Gauge& gauge(std::string_view name);
  Latency& latency(std::string_view name);

  /// Closes every 5 s slot that ended by `now` (several, if advance() was late; a slot
  /// with no activity is empty). Times before the last advance are ignored.
  void advance(Clock::time_point now);
  /// Every series with its totals and windows (closed slots plus the open one).
  CollectorSnapshot snapshot();

 private:
  struct Series;
  Series* series(std::string_view name, SeriesSnapshot::Kind kind);
  std::mutex mu_;  // guards series_ and every Series' ring; recorders never take it
  std::deque<std::unique_ptr<Series>> series_;
  Counter detached_counter_;
  Gauge detached_gauge_;
  Latency detached_latency_;
  Clock::time_point slot_start_;
};

}  // namespace swarmkeeper::metrics
