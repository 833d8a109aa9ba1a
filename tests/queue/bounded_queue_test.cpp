// SPDX-License-Identifier: Apache-2.0
// bounded_queue_test.cpp — every policy with several producers: capacity never exceeded,
// every discarded event counted exactly once, close/drain as the header states.
#include "swarmkeeper/queue/bounded_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace swarmkeeper::queue {
namespace {

constexpr int kProducers = 4, kPerProducer = 5000;

// Pushes kProducers x kPerProducer distinct events concurrently; returns the results seen.
std::array<std::uint64_t, 5> flood(BoundedQueue<int>& q) {
  std::array<std::atomic<std::uint64_t>, 5> seen{};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) ++seen[static_cast<std::size_t>(q.push(p * kPerProducer + i))];
    });
  for (auto& t : producers) t.join();
  std::array<std::uint64_t, 5> out{};
  for (std::size_t i = 0; i < 5; ++i) out[i] = seen[i];
  return out;
}

TEST(BoundedQueue, DropNewestKeepsTheFirstArrivalsAndCountsEveryRefusal) {
  BoundedQueue<int> q(1000, OverflowPolicy::drop_newest);
  auto r = flood(q);
  const auto s = q.stats();
  EXPECT_EQ(s.length, 1000u);
  EXPECT_EQ(s.high_water, 1000u);
  EXPECT_EQ(s.dropped_newest, static_cast<std::uint64_t>(kProducers * kPerProducer - 1000));
  EXPECT_EQ(r[static_cast<int>(PushResult::dropped)], s.dropped_newest)
      << "one refusal counted per refused push";
  EXPECT_EQ(s.pushed + s.dropped_total(), static_cast<std::uint64_t>(kProducers * kPerProducer));
}

TEST(BoundedQueue, DropOldestKeepsTheNewestOfEachProducerAndCountsEveryEviction) {
  BoundedQueue<int> q(1000, OverflowPolicy::drop_oldest);
  auto r = flood(q);
  const auto s = q.stats();
  EXPECT_EQ(s.length, 1000u);
  EXPECT_EQ(s.dropped_oldest, static_cast<std::uint64_t>(kProducers * kPerProducer - 1000));
  EXPECT_EQ(r[static_cast<int>(PushResult::queued_evicted)], s.dropped_oldest);
  auto left = q.pop_all();
  ASSERT_EQ(left.size(), 1000u);
  // Eviction is oldest-first and each producer pushes in order, so what is left of each
  // producer is the tail of its sequence; the very last push of all is always kept.
  std::set<int> kept(left.begin(), left.end());
  int producers_with_last = 0;
  for (int p = 0; p < kProducers; ++p) {
    const int last = p * kPerProducer + kPerProducer - 1;
    int k = 0;
    while (kept.count(last - k)) ++k;
    int mine = 0;
    for (int v : kept) mine += v / kPerProducer == p;
    EXPECT_EQ(mine, k) << "producer " << p << ": kept events are its newest, without gaps";
    producers_with_last += k > 0;
  }
  EXPECT_GE(producers_with_last, 1);
}

TEST(BoundedQueue, BlockWaitsForRoomThenTimesOutAndCountsIt) {
  BoundedQueue<int> q(100, OverflowPolicy::block, std::chrono::milliseconds(5));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> consumed{0};
  std::thread consumer([&] {
    while (!stop)
      if (q.pop_for(std::chrono::milliseconds(1))) ++consumed;
  });
  auto r = flood(q);
  stop = true;
  consumer.join();
  while (q.pop_for(std::chrono::milliseconds(0))) ++consumed;
  const auto s = q.stats();
  EXPECT_LE(s.high_water, 100u) << "never past the capacity";
  EXPECT_EQ(r[static_cast<int>(PushResult::timed_out)], s.timed_out);
  EXPECT_EQ(consumed.load(), s.pushed) << "every queued event reached the consumer";
  EXPECT_EQ(s.pushed + s.timed_out, static_cast<std::uint64_t>(kProducers * kPerProducer));
  // Without a consumer a full queue times out every extra push.
  BoundedQueue<int> full(10, OverflowPolicy::block, std::chrono::milliseconds(1));
  for (int i = 0; i < 15; ++i) full.push(i);
  EXPECT_EQ(full.stats().timed_out, 5u);
}

TEST(BoundedQueue, CloseWakesWaitersRefusesPushesAndLetsConsumersDrain) {
  BoundedQueue<int> q(2, OverflowPolicy::block, std::chrono::seconds(30));
  q.push(1);
  q.push(2);
  std::thread blocked(
      [&] { EXPECT_EQ(q.push(3), PushResult::closed) << "a waiting producer is woken by close"; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  q.close();
  blocked.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(q.push(4), PushResult::closed);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), std::nullopt) << "closed and empty: at once";
  EXPECT_EQ(q.stats().rejected_closed, 2u);
  BoundedQueue<int> d(5, OverflowPolicy::drop_newest);
  for (int i = 0; i < 3; ++i) d.push(i);
  d.close(BoundedQueue<int>::Drain::discard);
  EXPECT_EQ(d.stats().discarded_on_close, 3u);
  EXPECT_EQ(d.pop(), std::nullopt);
}

TEST(BoundedQueue, AConsumerWaitingOnAnEmptyQueueIsWokenByClose) {
  BoundedQueue<int> q(4, OverflowPolicy::drop_oldest);
  std::thread consumer([&] { EXPECT_EQ(q.pop(), std::nullopt); });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  q.close();
  consumer.join();
}

}  // namespace
}  // namespace swarmkeeper::queue
