// SPDX-License-Identifier: Apache-2.0
// flight_table_test.cpp — single flight that never hands a caller a load sent before its
// call, and the rule that keeps a load that raced an invalidation out of L1.
#include "cache/flight_table.hpp"

#include <gtest/gtest.h>

namespace swarmkeeper::cache {
namespace {

using Table = FlightTable<int>;
using Role = Table::Role;

TEST(FlightTable, AMissWhileALoadIsInFlightWaitsForTheNextLoadAndLaterMissesJoinIt) {
  Table t;
  const auto a = t.join("k", 1);
  EXPECT_EQ(a.role, Role::lead);
  EXPECT_TRUE(a.flight->sent) << "a lead's load is sent at once";
  // B comes while A's load is in flight: A may have read a value that a write
  // acknowledged before B's call replaced. B leads the next load, sent after A's ends.
  const auto b = t.join("k", 1);
  EXPECT_EQ(b.role, Role::lead_after);
  EXPECT_NE(b.flight, a.flight);
  EXPECT_EQ(b.after, a.flight);
  EXPECT_FALSE(b.flight->sent);
  const auto c = t.join("k", 1);
  EXPECT_EQ(c.role, Role::join);
  EXPECT_EQ(c.flight, b.flight) << "B's load is not sent yet: it reads after C's call";
  EXPECT_EQ(t.join("other", 1).role, Role::lead);
  EXPECT_EQ(t.size(), 2u);
  t.finish(a.flight);
  // A has ended; B's load is next and still joinable until B sends it.
  const auto d = t.join("k", 1);
  EXPECT_EQ(d.role, Role::join);
  EXPECT_EQ(d.flight, b.flight);
  t.sent(b.flight, 1);
  const auto e = t.join("k", 1);
  EXPECT_EQ(e.role, Role::lead_after) << "B's load is on its way now: E waits for the one after";
  EXPECT_EQ(e.after, b.flight);
  t.finish(b.flight);
  t.sent(e.flight, 1);
  t.finish(e.flight);
  EXPECT_EQ(t.size(), 1u) << "only \"other\" is left";
  EXPECT_TRUE(Table::installable(*a.flight, 1, true));
}

TEST(FlightTable, AnInvalidationMarksOnlyTheLoadAlreadySent) {
  Table t;
  const auto a = t.join("k", 1);
  const auto b = t.join("k", 1);
  t.invalidate("k");
  EXPECT_TRUE(a.flight->dirty) << "sent before the write: may hold the old value";
  EXPECT_FALSE(b.flight->dirty) << "not sent yet: reads after the write";
  t.finish(a.flight);
  t.sent(b.flight, 1);
  EXPECT_FALSE(Table::installable(*a.flight, 1, true));
  EXPECT_TRUE(Table::installable(*b.flight, 1, true));
  t.finish(a.flight);  // twice: harmless, and must not detach B
  EXPECT_EQ(t.size(), 1u);
}

TEST(FlightTable, NothingIsInstalledAcrossAnEpochChangeOrWhileTrackingIsDownOrUnsent) {
  Table t;
  const auto f = t.join("k", 4);
  EXPECT_FALSE(Table::installable(*f.flight, 5, true)) << "tracking was lost and regained during the load";
  EXPECT_FALSE(Table::installable(*f.flight, 4, false)) << "tracking is down";
  const auto next = t.join("k", 4);
  t.invalidate_all();
  EXPECT_TRUE(f.flight->dirty);
  EXPECT_FALSE(next.flight->dirty);
  EXPECT_FALSE(Table::installable(*f.flight, 4, true));
  EXPECT_FALSE(Table::installable(*next.flight, 4, true)) << "never sent";
  t.finish(f.flight);
  t.sent(next.flight, 6);  // sent after the flush: reads the new state
  EXPECT_TRUE(Table::installable(*next.flight, 6, true));
}

TEST(FlightTable, InvalidatingAKeyWithNoFlightChangesNothing) {
  Table t;
  const auto f = t.join("a", 1);
  t.invalidate("b");
  EXPECT_FALSE(f.flight->dirty);
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace swarmkeeper::cache
