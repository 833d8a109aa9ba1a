// SPDX-License-Identifier: Apache-2.0
// histogram_test.cpp — histogram percentiles against exact percentiles of the same samples.
#include "swarmkeeper/metrics/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>
#include <vector>

namespace swarmkeeper::metrics {
namespace {

double exact_percentile(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(q * static_cast<double>(v.size()))));
  return static_cast<double>(v[rank - 1]);
}

TEST(Histogram, PercentilesWithinOnePercentOfExact) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency_ns(11.0, 1.2);  // ~60 us median, long tail
  for (int round = 0; round < 5; ++round) {
    Histogram h;
    std::vector<std::uint64_t> samples;
    for (int i = 0; i < 200000; ++i) {
      const auto v = static_cast<std::uint64_t>(latency_ns(rng)) + 1;
      samples.push_back(v);
      h.record(v);
    }
    const auto s = h.snapshot();
    ASSERT_EQ(s.count(), samples.size());
    for (double q : {0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
      const double exact = exact_percentile(samples, q);
      EXPECT_NEAR(s.percentile(q), exact, exact * 0.01) << "q=" << q;
    }
  }
}

TEST(Histogram, SmallValuesAreExactAndEveryBucketRoundTrips) {
  for (std::uint64_t v = 0; v < 128; ++v)
    EXPECT_EQ(Histogram::value_of(Histogram::bucket_of(v)), static_cast<double>(v));
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 60);
    const double got = Histogram::value_of(Histogram::bucket_of(v));
    ASSERT_NEAR(got, static_cast<double>(v), static_cast<double>(v) / 128.0 + 1) << v;
  }
  EXPECT_LT(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets);
}

TEST(Histogram, ConcurrentRecordsAreAllCountedAndSnapshotsMerge) {
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 100000; ++i) h.record(1000 * (static_cast<std::uint64_t>(t) + 1));
    });
  for (auto& t : threads) t.join();
  auto s = h.snapshot();
  EXPECT_EQ(s.count(), 400000u);
  EXPECT_NEAR(s.percentile(0.5), 2000, 20);
  Histogram other;
  other.record(1'000'000);
  s.merge(other.snapshot());
  EXPECT_EQ(s.count(), 400001u);
  EXPECT_NEAR(s.max(), 1'000'000, 10'000);
  EXPECT_EQ(Histogram().snapshot().percentile(0.99), 0);
}

}  // namespace
}  // namespace swarmkeeper::metrics
