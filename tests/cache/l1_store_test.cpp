// SPDX-License-Identifier: Apache-2.0
// l1_store_test.cpp — the cache's L1: bounds in entries and bytes, time to live,
// segmented LRU against plain LRU on a scan that would flush an LRU.
#include "cache/l1_store.hpp"

#include <gtest/gtest.h>

#include <random>

namespace swarmkeeper::cache {
namespace {

using namespace std::chrono_literals;
using Clock = L1Store::Clock;

TEST(L1Store, FindsWhatWasPutAndForgetsWhatWasErased) {
  L1Store s(L1Limits{});
  const auto now = Clock::now();
  EXPECT_EQ(s.find("a", now), nullptr);
  ASSERT_TRUE(s.put("a", "1", now + 1min));
  ASSERT_NE(s.find("a", now), nullptr);
  EXPECT_EQ(*s.find("a", now), "1");
  ASSERT_TRUE(s.put("a", "22", now + 1min));  // replace
  EXPECT_EQ(*s.find("a", now), "22");
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.bytes(), 1 + 2 + L1Store::kEntryOverhead);
  EXPECT_TRUE(s.erase("a"));
  EXPECT_FALSE(s.erase("a"));
  EXPECT_EQ(s.find("a", now), nullptr);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.bytes(), 0u);
}

TEST(L1Store, EntriesExpireAtTheirTimeToLive) {
  L1Store s(L1Limits{});
  const auto now = Clock::now();
  s.put("short", "v", now + 10ms);
  s.put("long", "v", now + 10min);
  EXPECT_NE(s.find("short", now + 9ms), nullptr);
  EXPECT_EQ(s.find("short", now + 10ms), nullptr);
  EXPECT_NE(s.find("long", now + 10ms), nullptr);
  EXPECT_EQ(s.counters().expirations, 1u);
  EXPECT_EQ(s.size(), 1u);
}

TEST(L1Store, NeverHoldsMoreThanItsEntryAndByteBounds) {
  L1Store s(L1Limits{.max_entries = 100, .max_bytes = 20000, .protected_share = 0.8});
  std::mt19937 rng(7);
  const auto now = Clock::now();
  for (int i = 0; i < 20000; ++i) {
    const std::string key = "k" + std::to_string(rng() % 1000);
    if (rng() % 3 == 0) {
      s.find(key, now);
    } else {
      s.put(key, std::string(rng() % 400, 'x'), now + 1h);
    }
    ASSERT_LE(s.size(), 100u);
    ASSERT_LE(s.bytes(), 20000u);
  }
  EXPECT_GT(s.counters().evictions, 0u);
}

TEST(L1Store, AValueTooLargeForTheBoundIsNotAdmittedAndReplacesNothing) {
  L1Store s(L1Limits{.max_entries = 10, .max_bytes = 8000, .protected_share = 0.5});
  const auto now = Clock::now();
  s.put("k", "old", now + 1h);
  EXPECT_FALSE(s.put("k", std::string(2000, 'x'), now + 1h));
  EXPECT_EQ(s.find("k", now), nullptr) << "the old value must not survive a refused replacement";
  EXPECT_EQ(s.counters().rejected, 1u);
}

// Keys read twice are protected from a burst of keys read once: SLRU keeps the hot
// set, a plain LRU (protected_share 0) loses it.
TEST(L1Store, SegmentedLruKeepsTheHotSetThroughAScanThatFlushesPlainLru) {
  auto hot_survivors = [](double share) {
    L1Store s(L1Limits{.max_entries = 100, .max_bytes = 1 << 20, .protected_share = share});
    const auto now = Clock::now();
    for (int i = 0; i < 50; ++i) s.put("hot" + std::to_string(i), "v", now + 1h);
    for (int i = 0; i < 50; ++i) s.find("hot" + std::to_string(i), now);
    for (int i = 0; i < 1000; ++i) s.put("scan" + std::to_string(i), "v", now + 1h);
    int kept = 0;
    for (int i = 0; i < 50; ++i) kept += s.find("hot" + std::to_string(i), now) != nullptr;
    return kept;
  };
  EXPECT_EQ(hot_survivors(0.8), 50);
  EXPECT_EQ(hot_survivors(0.0), 0);
}

TEST(L1Store, ClearEmptiesBothSegments) {
  L1Store s(L1Limits{.max_entries = 10, .max_bytes = 1 << 20, .protected_share = 0.5});
  const auto now = Clock::now();
  for (int i = 0; i < 10; ++i) s.put(std::to_string(i), "v", now + 1h);
  for (int i = 0; i < 5; ++i) s.find(std::to_string(i), now);
  EXPECT_EQ(s.clear(), 10u);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.bytes(), 0u);
  for (int i = 0; i < 20; ++i) s.put(std::to_string(i), "v", now + 1h);  // lists still sound
  EXPECT_EQ(s.size(), 10u);
}

}  // namespace
}  // namespace swarmkeeper::cache
