// SPDX-License-Identifier: Apache-2.0
// collector_test.cpp — windows that roll, percentiles within the histogram's error of the
// exact ones, and no sample lost while 8 threads record during advance() and snapshot().
#include "swarmkeeper/metrics/collector.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace swarmkeeper::metrics {
namespace {

using namespace std::chrono_literals;
using Clock = Collector::Clock;

const SeriesSnapshot& find(const CollectorSnapshot& s, const std::string& name) {
  for (const auto& x : s.series)
    if (x.name == name) return x;
  throw std::runtime_error("no series " + name);
}

TEST(Collector, PercentilesOfAMillionSamplesAreWithinOnePercentOfTheExactOnes) {
  Collector c;
  auto& lat = c.latency("op_ns");
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(10.0, 1.5);  // a long-tailed latency shape
  std::vector<std::uint64_t> samples(1'000'000);
  for (auto& v : samples) {
    v = static_cast<std::uint64_t>(dist(rng)) + 1;
    lat.record(v);
  }
  std::sort(samples.begin(), samples.end());
  auto exact = [&](double q) {
    return static_cast<double>(samples[static_cast<std::size_t>(std::ceil(q * samples.size())) - 1]);
  };
  const auto w = find(c.snapshot(), "op_ns").windows[static_cast<int>(Window::m1)];
  EXPECT_EQ(w.count, samples.size());
  for (auto [q, got] : {std::pair{0.50, w.p50}, {0.95, w.p95}, {0.99, w.p99}, {0.999, w.p999}})
    EXPECT_LT(std::abs(got - exact(q)) / exact(q), 0.01)
        << "q=" << q << " got " << got << " exact " << exact(q);
}

TEST(Collector, WindowsRollAtFiveSecondSlots) {
  const auto t0 = Clock::time_point{} + 1000h;
  Collector c(t0);
  auto& n = c.counter("events");
  auto& g = c.gauge("queue_len");
  auto& lat = c.latency("lat");
  n.add(10);
  g.set(7);
  lat.record(100);
  c.advance(t0 + 5s);  // slot 1 closed
  g.set(3);
  for (int i = 1; i <= 10; ++i) c.advance(t0 + 5s + i * 5s);  // 10 more: slot 1 is the 11th newest closed
  auto s = c.snapshot();
  EXPECT_EQ(find(s, "events").windows[0].count, 10u)
      << "still inside the last minute (12 slots with the open one)";
  c.advance(t0 + 60s);
  s = c.snapshot();
  EXPECT_EQ(find(s, "events").windows[0].count, 0u) << "rolled out of the 1 min window";
  EXPECT_EQ(find(s, "events").windows[1].count, 10u) << "still in 5 min";
  EXPECT_EQ(find(s, "lat").windows[1].count, 1u);
  EXPECT_EQ(find(s, "lat").windows[0].count, 0u);
  EXPECT_EQ(find(s, "queue_len").windows[1].max, 7);
  EXPECT_EQ(find(s, "queue_len").windows[1].min, 3);
  EXPECT_EQ(find(s, "events").total, 10);
  c.advance(t0 + 2h);  // late by far more than an hour: everything rolls out
  s = c.snapshot();
  EXPECT_EQ(find(s, "events").windows[2].count, 0u);
  EXPECT_EQ(find(s, "events").total, 10) << "totals stay";
}

TEST(Collector, EightThreadsRecordingDuringAdvanceAndSnapshotLoseNoSample) {
  const auto t0 = Clock::time_point{} + 1000h;
  Collector c(t0);
  auto& lat = c.latency("lat");
  auto& n = c.counter("n");
  constexpr int kThreads = 8, kEach = 200'000;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kEach; ++i) {
        lat.record(static_cast<std::uint64_t>(i % 5000) + static_cast<std::uint64_t>(t));
        n.add();
      }
    });
  go = true;
  // Advance and read while they record. The 1 h window holds 720 slots, so advancing stops
  // at 600 (on a loaded machine the recorders may still be running then); reads go on.
  constexpr int kMaxSlots = 600;
  int slot = 0;
  while (n.value() < static_cast<std::uint64_t>(kThreads) * kEach) {
    if (slot < kMaxSlots) c.advance(t0 + (++slot) * 5s);
    (void)c.snapshot();
    std::this_thread::yield();
  }
  for (auto& t : threads) t.join();
  const auto s = c.snapshot();
  EXPECT_EQ(find(s, "lat").windows[static_cast<int>(Window::h1)].count,
            static_cast<std::uint64_t>(kThreads) * kEach);
  EXPECT_EQ(find(s, "n").windows[static_cast<int>(Window::h1)].count,
            static_cast<std::uint64_t>(kThreads) * kEach);
}

TEST(Collector, ASampleRecordedJustBeforeALateAdvanceCountsInEveryWindow) {
  const auto t0 = Clock::time_point{} + 1000h;
  Collector c(t0);
  auto& lat = c.latency("lat");
  lat.record(5);
  c.advance(t0 + 721 * 5s);  // over an hour late
  auto s = c.snapshot();
  for (int w = 0; w < 3; ++w) EXPECT_EQ(find(s, "lat").windows[static_cast<std::size_t>(w)].count, 1u) << w;
  lat.record(~0ull);  // a negative duration cast to unsigned must not wrap the mean
  lat.record(10);
  s = c.snapshot();
  EXPECT_GT(find(s, "lat").windows[0].mean, 1e18);
}

TEST(Collector, ANameKeepsItsFirstKind) {
  Collector c;
  c.counter("x").add(3);
  c.latency("x").record(5);  // another kind under the same name: detached, never reported
  const auto s = c.snapshot();
  ASSERT_EQ(s.series.size(), 1u);
  EXPECT_EQ(s.series[0].kind, SeriesSnapshot::Kind::counter);
  EXPECT_EQ(s.series[0].total, 3);
}

}  // namespace
}  // namespace swarmkeeper::metrics
