// flight_table_test.cpp — single flight and the rule that keeps a load that raced an
// invalidation out of L1.
#include "cache/flight_table.hpp"

#include <gtest/gtest.h>

namespace swarmkeeper::cache {
namespace {

using Table = FlightTable<int>;

TEST(FlightTable, ConcurrentMissesOnOneKeyJoinOneFlight) {
  Table t;
  auto [a, lead_a] = t.join("k", 1);
  auto [b, lead_b] = t.join("k", 1);
  auto [c, lead_c] = t.join("other", 1);
  EXPECT_TRUE(lead_a);
  EXPECT_FALSE(lead_b);
  EXPECT_TRUE(lead_c);
  EXPECT_EQ(a, b);
  EXPECT_EQ(t.size(), 2u);
  t.finish(a);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(Table::installable(*a, 1, true));
}

TEST(FlightTable, AnInvalidationDuringALoadKeepsItOutOfL1AndLaterMissesStartAfresh) {
  Table t;
  auto [old_flight, lead] = t.join("k", 1);
  ASSERT_TRUE(lead);
  t.invalidate("k");
  auto [fresh, lead_fresh] = t.join("k", 1);
  EXPECT_TRUE(lead_fresh) << "a miss after the invalidation must not join the load that may hold the old value";
  EXPECT_NE(old_flight, fresh);
  t.finish(old_flight);  // must not detach the fresh flight
  EXPECT_EQ(t.size(), 1u);
  EXPECT_FALSE(Table::installable(*old_flight, 1, true));
  EXPECT_TRUE(Table::installable(*fresh, 1, true));
}

TEST(FlightTable, NothingIsInstalledAcrossAnEpochChangeOrWhileTrackingIsDown) {
  Table t;
  auto [f, lead] = t.join("k", 4);
  EXPECT_FALSE(Table::installable(*f, 5, true)) << "tracking was lost and regained during the load";
  EXPECT_FALSE(Table::installable(*f, 4, false)) << "tracking is down";
  t.invalidate_all();
  EXPECT_TRUE(f->dirty);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(Table::installable(*f, 4, true));
}

TEST(FlightTable, InvalidatingAKeyWithNoFlightChangesNothing) {
  Table t;
  auto [f, lead] = t.join("a", 1);
  t.invalidate("b");
  EXPECT_FALSE(f->dirty);
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace swarmkeeper::cache
