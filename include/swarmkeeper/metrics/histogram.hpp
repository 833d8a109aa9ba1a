// SPDX-License-Identifier: Apache-2.0
// histogram.hpp — a constant-memory, mergeable latency histogram (no Redis knowledge).
//
// Values (e.g. nanoseconds) fall into log-linear buckets: each power of two is split
// into 64 equal sub-buckets, so a bucket's midpoint is within 1/128 (< 0.8 %) of any
// value in it. Values below 128 are counted exactly. record() is one relaxed atomic
// increment: no lock, no allocation, safe from any thread. Percentiles are read from a
// snapshot; snapshots merge by adding counts.
//
//   Histogram h;
//   h.record(latency_ns);                 // hot path
//   auto s = h.snapshot();
//   double p99 = s.percentile(0.99);      // within 1 % of the exact p99
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace swarmkeeper::metrics {

class Histogram {
 public:
  static constexpr int kSubBits = 6;                ///< 64 sub-buckets per power of two
  static constexpr int kExponents = 64 - kSubBits;  ///< covers all of uint64
  static constexpr int kBuckets = (kExponents + 1) << kSubBits;

  /// Bucket index of a value. Exact below 2^(kSubBits+1).
  static int bucket_of(std::uint64_t v) noexcept {
    if (v < (1u << (kSubBits + 1))) return static_cast<int>(v);
    const int msb = 63 - __builtin_clzll(v);  // >= kSubBits + 1
    const int shift = msb - kSubBits;
    return ((shift + 1) << kSubBits) + static_cast<int>((v >> shift) & ((1u << kSubBits) - 1));
  }
  /// The value a bucket reports: its midpoint (exact for the exact buckets).
  static double value_of(int bucket) noexcept;

  class Snapshot {
   public:
    std::uint64_t count() const noexcept { return count_; }
    /// The q-quantile (0 <= q <= 1), within 1 % of the exact one; 0 when empty.
    double percentile(double q) const noexcept;
    double max() const noexcept;
    double mean() const noexcept { return count_ ? sum_ / static_cast<double>(count_) : 0; }
    /// Adds another snapshot's samples to this one.
    void merge(const Snapshot& other) noexcept;
    /// Adds n samples to one bucket, and `sum` to the samples' sum (building a snapshot
    /// from stored counts, e.g. a time window's). REQUIRES: 0 <= bucket < kBuckets.
    void add(int bucket, std::uint64_t n, double sum = 0) noexcept {
      counts_[static_cast<std::size_t>(bucket)] += n;
      count_ += n;
      sum_ += sum;
    }
    double sum() const noexcept { return sum_; }
    const std::array<std::uint64_t, kBuckets>& buckets() const noexcept { return counts_; }

   private:
    friend class Histogram;
    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t count_ = 0;
    double sum_ = 0;
  };

  /// Counts one sample. Thread-safe, lock-free, allocation-free.
  void record(std::uint64_t v) noexcept {
    counts_[static_cast<std::size_t>(bucket_of(v))].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(static_cast<double>(v), std::memory_order_relaxed);  // a double: never wraps
  }
  /// A consistent-enough copy (concurrent records may or may not be included).
  Snapshot snapshot() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
  std::atomic<double> sum_{0};
};

}  // namespace swarmkeeper::metrics
