// SPDX-License-Identifier: Apache-2.0
// histogram.cpp — see swarmkeeper/metrics/histogram.hpp.
#include "swarmkeeper/metrics/histogram.hpp"

#include <cmath>

namespace swarmkeeper::metrics {

double Histogram::value_of(int bucket) noexcept {
  if (bucket < (1 << (kSubBits + 1))) return bucket;
  const int shift = (bucket >> kSubBits) - 1;
  const std::uint64_t sub = static_cast<std::uint64_t>(bucket & ((1 << kSubBits) - 1));
  const double low = std::ldexp(static_cast<double>((std::uint64_t{1} << kSubBits) | sub), shift);
  return low + std::ldexp(1.0, shift) / 2;  // the midpoint of [low, low + 2^shift)
}

Histogram::Snapshot Histogram::snapshot() const noexcept {
  Snapshot s;
  for (int i = 0; i < kBuckets; ++i) {
    s.counts_[static_cast<std::size_t>(i)] =
        counts_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
    s.count_ += s.counts_[static_cast<std::size_t>(i)];
  }
  s.sum_ = sum_.load(std::memory_order_relaxed);
  return s;
}

double Histogram::Snapshot::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  q = q < 0 ? 0 : q > 1 ? 1 : q;
  // The rank of the q-quantile among count_ sorted samples (nearest-rank, 1-based).
  const auto rank = static_cast<std::uint64_t>(std::max(1.0, std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[static_cast<std::size_t>(i)];
    if (seen >= rank) return value_of(i);
  }
  return max();
}

double Histogram::Snapshot::max() const noexcept {
  for (int i = kBuckets - 1; i >= 0; --i)
    if (counts_[static_cast<std::size_t>(i)] != 0) return value_of(i);
  return 0;
}

void Histogram::Snapshot::merge(const Snapshot& other) noexcept {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
}

}  // namespace swarmkeeper::metrics
