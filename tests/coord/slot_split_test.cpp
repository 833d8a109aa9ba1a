// SPDX-License-Identifier: Apache-2.0
// slot_split_test.cpp — how a cleanup batch is split by slot on a cluster (no server):
// what can be one atomic step per slot, what must be re-read across slots, and that
// every check index maps back to the batch it came from.
#include "coord/cluster_delete_step.hpp"

#include <gtest/gtest.h>

#include "swarmkeeper/client/cluster_slots.hpp"

namespace swarmkeeper::coord {
namespace {

const std::string kSha(40, 'a');

// A batch with one group per entry: its checks (heartbeat key, stale SHA or "" for
// absent) and keys.
struct GroupSpec {
  std::vector<std::pair<std::string, std::string>> checks;
  std::vector<std::string> keys;
  bool reap = false;
};

CheckedUnlink batch_of(const std::vector<GroupSpec>& groups) {
  CheckedUnlink b;
  for (const auto& g : groups) {
    CheckedUnlink::Group out;
    for (const auto& [key, sha] : g.checks) {
      auto it = std::find(b.check_keys.begin(), b.check_keys.end(), key);
      if (it == b.check_keys.end()) {
        b.check_keys.push_back(key);
        b.expect.push_back(sha);
        it = b.check_keys.end() - 1;
      }
      out.checks.push_back(static_cast<std::uint32_t>(it - b.check_keys.begin()));
    }
    out.keys = static_cast<std::uint32_t>(g.keys.size());
    out.reap = g.reap;
    b.keys.insert(b.keys.end(), g.keys.begin(), g.keys.end());
    b.groups.push_back(out);
  }
  return b;
}

// Every key of the part hashes to the part's slot, and so does every check.
void expect_one_slot(const SlotSplit::Part& p) {
  for (const auto& k : p.batch.keys) EXPECT_EQ(key_slot(k), p.slot) << k;
  for (const auto& k : p.batch.check_keys) EXPECT_EQ(key_slot(k), p.slot) << k;
}

TEST(SlotSplit, AHashTaggedCoordinatorIsOneAtomicStep) {
  const auto b = batch_of({{{{"blocking:heartbeat:{c1}", kSha}},
                            {"blocking:signal:{c1}", "blocking:ack:{c1}:a", "coordinator:activity:{c1}",
                             "blocking:heartbeat:{c1}"},
                            true}});
  const auto s = split_by_slot(b);
  EXPECT_TRUE(s.across.batch.keys.empty());
  EXPECT_TRUE(s.across.batch.check_keys.empty());
  ASSERT_EQ(s.atomic.size(), 1u);
  expect_one_slot(s.atomic[0]);
  EXPECT_EQ(s.atomic[0].batch.keys, b.keys) << "in order, heartbeat last";
  ASSERT_EQ(s.atomic[0].batch.groups.size(), 1u);
  EXPECT_TRUE(s.atomic[0].batch.groups[0].reap);
  EXPECT_EQ(s.atomic[0].check_of, std::vector<std::uint32_t>{0});
  EXPECT_EQ(s.atomic[0].batch.expect[0], kSha);
}

TEST(SlotSplit, KeysOutsideTheHeartbeatsSlotAreReReadAndTheHeartbeatStaysAtomic) {
  const std::string hb = "blocking:heartbeat:c1";
  std::vector<std::string> keys = {"blocking:signal:c1", "blocking:ack:c1:a", "coordinator:activity:c1", hb};
  const auto b = batch_of({{{{hb, kSha}}, keys, true}});
  const auto s = split_by_slot(b);
  ASSERT_EQ(s.atomic.size(), 1u);
  EXPECT_EQ(s.atomic[0].slot, key_slot(hb));
  expect_one_slot(s.atomic[0]);
  EXPECT_EQ(s.atomic[0].batch.keys.back(), hb);
  EXPECT_TRUE(s.atomic[0].batch.groups[0].reap);
  // The other keys (those not in the heartbeat's slot) are re-read against the heartbeat.
  std::size_t elsewhere = 0;
  for (const auto& k : keys) elsewhere += key_slot(k) != key_slot(hb);
  EXPECT_EQ(s.across.batch.keys.size(), elsewhere);
  ASSERT_EQ(s.across.batch.check_keys, std::vector<std::string>{hb});
  EXPECT_EQ(s.across.batch.expect[0], kSha);
  ASSERT_EQ(s.across.batch.groups.size(), 1u);
  EXPECT_FALSE(s.across.batch.groups[0].reap) << "the heartbeat never goes in the non-atomic part";
  for (const auto& k : s.across.batch.keys) EXPECT_NE(k, hb);
}

TEST(SlotSplit, OwnersInTwoSlotsMakeTheWholeGroupAcross) {
  // A key that names two stale coordinators: both heartbeats, in two slots, must hold.
  const std::string a = "blocking:heartbeat:x", bb = "blocking:heartbeat:y";
  ASSERT_NE(key_slot(a), key_slot(bb));
  const auto b = batch_of({{{{a, kSha}, {bb, std::string(40, 'b')}}, {"blocking:idempotency:x:y"}}});
  const auto s = split_by_slot(b);
  EXPECT_TRUE(s.atomic.empty());
  EXPECT_EQ(s.across.batch.keys, std::vector<std::string>{"blocking:idempotency:x:y"});
  EXPECT_EQ(s.across.batch.check_keys.size(), 2u);
  EXPECT_EQ(s.across.check_of, (std::vector<std::uint32_t>{0, 1}));
}

TEST(SlotSplit, AGroupWithAnAbsenceCheckElsewhereIsReReadWholeNeverTrustedInTheAtomicStep) {
  // blocking:idempotency:{c1}:init could also belong to an id "init": its heartbeat must
  // still be absent, and it lives in another slot. Read before the atomic step and
  // trusted, that check missed "init" appearing in between (the key went, unreported):
  // the whole group is re-read, unlinked and re-read, so a change is counted.
  const std::string hb = "blocking:heartbeat:{c1}", other = "blocking:heartbeat:init",
                    key = "blocking:idempotency:{c1}:init";
  ASSERT_NE(key_slot(other), key_slot(hb));
  ASSERT_EQ(key_slot(key), key_slot(hb));
  const auto b = batch_of({{{{hb, kSha}, {other, ""}}, {key}}, {{{hb, kSha}}, {"blocking:signal:{c1}"}}});
  const auto s = split_by_slot(b);
  ASSERT_EQ(s.across.batch.groups.size(), 1u);
  EXPECT_EQ(s.across.batch.keys, std::vector<std::string>{key});
  EXPECT_EQ(s.across.batch.check_keys, (std::vector<std::string>{hb, other}));
  EXPECT_EQ(s.across.check_of, (std::vector<std::uint32_t>{0, 1}));
  ASSERT_EQ(s.atomic.size(), 1u);
  expect_one_slot(s.atomic[0]);
  EXPECT_EQ(s.atomic[0].batch.keys, std::vector<std::string>{"blocking:signal:{c1}"});
  // The second split (after `across` ran) never brings the group back into an atomic step.
  for (const std::vector<std::uint8_t>& failed :
       {std::vector<std::uint8_t>{0, 0}, std::vector<std::uint8_t>{0, 1}}) {
    const auto after = split_by_slot(b, false, &failed);
    ASSERT_EQ(after.atomic.size(), 1u);
    EXPECT_EQ(after.atomic[0].batch.keys, std::vector<std::string>{"blocking:signal:{c1}"});
    EXPECT_TRUE(after.across.batch.keys.empty() && after.across.batch.check_keys.empty());
  }
}

TEST(SlotSplit, AnAbsentCoordinatorsRecordsInTwoSlotsMakeItsGroupAcross) {
  // Plain id: its heartbeat and activity record (both must still be absent) in two slots.
  const std::string hb = "blocking:heartbeat:a7", act = "coordinator:activity:a7";
  ASSERT_NE(key_slot(hb), key_slot(act));
  const auto b = batch_of({{{{hb, ""}, {act, ""}}, {"blocking:signal:a7", "blocking:ack:a7:x"}}});
  const auto s = split_by_slot(b);
  EXPECT_TRUE(s.atomic.empty());
  EXPECT_EQ(s.across.batch.keys, b.keys);
  EXPECT_EQ(s.across.batch.check_keys.size(), 2u);
}

TEST(SlotSplit, LivenessRecordsInTwoSlotsNeverGoInTheCrossSlotUnlink) {
  // A plain id's final group: heartbeat and activity record (both checked by their
  // bytes) in two slots. The other keys go across; each liveness record goes in its own
  // slot's atomic step against its own bytes, so a renewal right before keeps it.
  const std::string hb = "blocking:heartbeat:c7", act = "coordinator:activity:c7";
  ASSERT_NE(key_slot(hb), key_slot(act));
  const auto b =
      batch_of({{{{hb, kSha}, {act, std::string(40, 'b')}}, {"blocking:signal:c7", act, hb}, true}});
  const auto s = split_by_slot(b);
  EXPECT_EQ(s.across.batch.keys, std::vector<std::string>{"blocking:signal:c7"});
  EXPECT_EQ(s.across.batch.check_keys.size(), 2u) << "both records re-read around the cross-slot UNLINK";
  ASSERT_EQ(s.atomic.size(), 2u);
  for (const auto& p : s.atomic) {
    expect_one_slot(p);
    ASSERT_EQ(p.batch.keys.size(), 1u);
    ASSERT_EQ(p.batch.check_keys.size(), 1u);
    EXPECT_EQ(p.batch.keys[0], p.batch.check_keys[0]) << "each record checked against its own bytes";
  }
  ASSERT_EQ(s.split_liveness.size(), 1u);
  EXPECT_EQ(s.split_liveness[0], (std::vector<std::uint32_t>{1, 0}));
  // The activity record changed during the cross-slot part: neither record goes.
  std::vector<std::uint8_t> failed = {0, 1};
  EXPECT_TRUE(split_by_slot(b, false, &failed).atomic.empty());
}

TEST(SlotSplit, KeysWithNothingToCheckAreOneStepPerSlot) {
  const auto b = batch_of({{{}, {"a", "b", "c", "{a}x"}}});
  const auto s = split_by_slot(b);
  EXPECT_TRUE(s.across.batch.keys.empty());
  std::size_t total = 0;
  for (const auto& p : s.atomic) {
    expect_one_slot(p);
    total += p.batch.keys.size();
  }
  EXPECT_EQ(total, 4u);
  EXPECT_EQ(s.atomic.size(), 3u) << "a and {a}x share a slot";
}

TEST(SlotSplit, AllAcrossPutsEveryGroupInTheReReadPart) {
  const auto b = batch_of(
      {{{{"blocking:heartbeat:{c1}", kSha}}, {"blocking:signal:{c1}", "blocking:heartbeat:{c1}"}, true}});
  const auto s = split_by_slot(b, true);
  EXPECT_TRUE(s.atomic.empty());
  EXPECT_EQ(s.across.batch.keys, b.keys);
  EXPECT_TRUE(s.across.batch.groups[0].reap);
}

TEST(SlotSplit, ManyGroupsKeepEveryKeyExactlyOnce) {
  std::vector<GroupSpec> groups;
  for (int i = 0; i < 200; ++i) {
    const std::string id = (i % 2 ? "{c" : "c") + std::to_string(i) + (i % 2 ? "}" : "");
    groups.push_back({{{"blocking:heartbeat:" + id, kSha}},
                      {"blocking:signal:" + id, "blocking:ack:" + id + ":a1", "blocking:heartbeat:" + id},
                      true});
  }
  const auto b = batch_of(groups);
  const auto s = split_by_slot(b);
  std::multiset<std::string> seen(s.across.batch.keys.begin(), s.across.batch.keys.end());
  for (const auto& p : s.atomic) {
    expect_one_slot(p);
    seen.insert(p.batch.keys.begin(), p.batch.keys.end());
    for (std::size_t i = 0; i < p.check_of.size(); ++i)
      EXPECT_EQ(b.check_keys[p.check_of[i]], p.batch.check_keys[i]);
  }
  EXPECT_EQ(seen, std::multiset<std::string>(b.keys.begin(), b.keys.end()));
  for (std::size_t i = 0; i < s.across.check_of.size(); ++i)
    EXPECT_EQ(b.check_keys[s.across.check_of[i]], s.across.batch.check_keys[i]);
  // Heartbeats never go across.
  for (const auto& k : s.across.batch.keys) EXPECT_FALSE(k.starts_with("blocking:heartbeat:")) << k;
}

}  // namespace
}  // namespace swarmkeeper::coord
