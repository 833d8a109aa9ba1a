// cleanup_plan_test.cpp — the cleanup's rules without a server: a model keyspace, the
// plan's commands carried out against it with the delete step's semantics, and random
// renewals and new coordinators between any two steps. After every delete: nothing was
// deleted whose possible owner had a live or unreadable heartbeat at that moment. At the
// end: every key that was unambiguously a stale coordinator's (and untouched) is gone.
#include "coord/cleanup_plan.hpp"
#include "coord/delete_step.hpp"
#include "coord/pacer.hpp"

#include <gtest/gtest.h>

#include "swarmkeeper/cluster_slots.hpp"

#include <set>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <random>

namespace swarmkeeper::coord {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;
constexpr std::int64_t kThreshold = 600'000;

struct Model {
  std::map<std::string, std::string> kv;
  KeySchema schema;
  std::vector<std::string> touched;  // ids renewed or created during the run

  std::string heartbeat(std::int64_t ts) { return R"({"timestamp":)" + std::to_string(ts) + "}"; }
  bool alive_or_unreadable(std::string_view id) const {
    auto it = kv.find(schema.heartbeat_key(id));
    return it != kv.end() && judge_heartbeat(it->second, schema, kNow, kThreshold) != HeartbeatState::stale;
  }
  // The delete step (scripts.hpp): checks first, then the passing groups' keys go.
  UnlinkOutcome apply(const CheckedUnlink& b) {
    UnlinkOutcome out;
    std::vector<bool> ok(b.check_keys.size());
    for (std::size_t i = 0; i < b.check_keys.size(); ++i) {
      auto it = kv.find(b.check_keys[i]);
      ok[i] = b.expect[i].empty() ? it == kv.end() : it != kv.end() && sha1_hex(it->second) == b.expect[i];
      if (!ok[i]) out.failed.push_back(static_cast<std::uint32_t>(i));
    }
    std::size_t k = 0;
    for (const auto& g : b.groups) {
      bool pass = true;
      for (auto c : g.checks) pass = pass && ok[c];
      for (std::uint32_t j = 0; j < g.keys; ++j, ++k) {
        if (!pass) continue;
        const std::string& key = b.keys[k];
        if (kv.count(key) == 0) continue;
        // THE property: no possible owner of the key is alive (or unreadable) right now.
        const KeyFamily* f = schema.family_of(key);
        std::vector<std::string_view> cands;
        if (auto id = schema.heartbeat_id(key)) {
          cands.push_back(*id);
        } else if (f) {
          EXPECT_TRUE(structural_candidates(key, *f, cands));
        }
        for (auto c : cands) EXPECT_FALSE(alive_or_unreadable(c)) << "deleted " << key << " while " << c << " lives";
        kv.erase(key);
        ++out.unlinked;
      }
    }
    return out;
  }
};

const std::vector<std::string> kIds = {"a", "a:b", "b", "init", "c*", "q?", "[s]", "sp ace", "coord-1", "coord-10",
                                       "x:y:z", "x", "other", "ü", "n1", "n2", "n3", "n4", "n5", "n6"};

void populate(Model& m, std::mt19937& rng) {
  std::uniform_int_distribution<int> kind(0, 9);
  for (const auto& id : kIds) {
    const int k = kind(rng);
    if (k <= 4) m.kv[m.schema.heartbeat_key(id)] = m.heartbeat(kNow - kThreshold - 1 - static_cast<int>(rng() % 100000));
    else if (k <= 6) m.kv[m.schema.heartbeat_key(id)] = m.heartbeat(kNow - static_cast<int>(rng() % kThreshold));
    else if (k == 7) m.kv[m.schema.heartbeat_key(id)] = rng() % 2 ? "garbage" : R"({"timestamp":-5})";
    // k >= 8: no heartbeat (orphans, or names that are not coordinators)
    if (kind(rng) < 8) {
      m.kv["blocking:signal:" + id] = "CONTINUE";
      m.kv["coordinator:activity:" + id] = "1";
      m.kv["blocking:ack:" + id + ":agent-" + std::to_string(rng() % 3)] = "1";
      m.kv["blocking:idempotency:" + id + ":init"] = "1";
      m.kv["blocking:idempotency:" + id + ":" + kIds[rng() % kIds.size()] + ":msg"] = "1";
    }
  }
}

// One random interleaving step: renew a coordinator, or make a new one appear.
void maybe_disturb(Model& m, std::mt19937& rng, int per_mille) {
  if (static_cast<int>(rng() % 1000) >= per_mille) return;
  const std::string& id = kIds[rng() % kIds.size()];
  m.kv[m.schema.heartbeat_key(id)] = m.heartbeat(kNow - static_cast<int>(rng() % 1000));
  m.touched.push_back(id);
}

struct Runner {
  Model& m;
  std::mt19937& rng;
  CleanupPlan& plan;
  int disturb;
  void run_batches() {
    std::vector<CheckedUnlink> inflight;
    while (plan.has_batch()) inflight.push_back(plan.take_batch());
    std::shuffle(inflight.begin(), inflight.end(), rng);  // in flight together: any order
    for (auto& b : inflight) {
      maybe_disturb(m, rng, disturb);
      plan.on_outcome(b, m.apply(b));
    }
  }
};

void run_one(std::uint32_t seed, int disturb) {
  std::mt19937 rng(seed);
  Model m;
  populate(m, rng);
  std::map<std::string, std::string> start = m.kv;
  PlanOptions o;
  o.threshold_ms = kThreshold;
  o.batch_keys = 1 + rng() % 12;
  o.park_bytes = std::array<std::size_t, 3>{32u << 20, 64, 600}[rng() % 3];  // parking: all, almost none, some
  o.slot_order = rng() % 2 == 0;  // a cluster's order of final groups: the rules must not care
  CleanupPlan plan(o);
  Runner r{m, rng, plan, disturb};
  // The scan: the keyspace in random order, random page sizes, pages answered in any order.
  std::vector<std::string> keys;
  for (const auto& [k, v] : m.kv) keys.push_back(k);
  std::shuffle(keys.begin(), keys.end(), rng);
  std::vector<std::pair<std::uint64_t, std::vector<std::string>>> pending;
  std::uint64_t page = 0;
  for (std::size_t at = 0; at < keys.size();) {
    const std::size_t n = std::min<std::size_t>(keys.size() - at, 1 + rng() % 7);
    std::vector<std::string_view> views(keys.begin() + static_cast<std::ptrdiff_t>(at),
                                        keys.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    pending.emplace_back(page, plan.on_page(page, views));
    ++page;
    while (!pending.empty() && (rng() % 2 || at == keys.size())) {
      const std::size_t pick = rng() % pending.size();
      auto [id, reads] = std::move(pending[pick]);
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(pick));
      maybe_disturb(m, rng, disturb);
      std::vector<std::string> values;
      std::vector<HeartbeatRead> answers;
      for (const auto& k : reads) values.push_back(m.kv.count(k) ? m.kv[k] : "");
      for (const auto& v : values) answers.push_back({v.empty() ? HeartbeatRead::Kind::empty : HeartbeatRead::Kind::value, v});
      plan.on_reads(id, answers, kNow);
      r.run_batches();
    }
  }
  plan.end_scan();
  r.run_batches();
  plan.prefinal();
  r.run_batches();
  plan.count_coordinators();
  while (!plan.final_groups(1 + rng() % 3)) r.run_batches();
  r.run_batches();
  // Completeness: a key whose possible owners were untouched, with exactly one of them a
  // stale coordinator (mentions: at least one, all stale) and the rest without a
  // heartbeat, is gone; so is that coordinator's heartbeat.
  auto untouched = [&](std::string_view id) {
    return std::find(m.touched.begin(), m.touched.end(), id) == m.touched.end();
  };
  auto state = [&](std::string_view id) -> int {  // 0 none, 1 stale, 2 alive/unreadable
    auto it = start.find(m.schema.heartbeat_key(id));
    if (it == start.end()) return 0;
    return judge_heartbeat(it->second, m.schema, kNow, kThreshold) == HeartbeatState::stale ? 1 : 2;
  };
  for (const auto& [key, value] : start) {
    std::vector<std::string_view> cands;
    const KeyFamily* f = m.schema.family_of(key);
    if (auto id = m.schema.heartbeat_id(key)) cands.push_back(*id);
    else if (!f || !structural_candidates(key, *f, cands)) continue;
    int stale = 0, alive = 0;
    bool all_untouched = true;
    for (auto c : cands) {
      stale += state(c) == 1;
      alive += state(c) == 2;
      all_untouched = all_untouched && untouched(c);
    }
    const bool prefix_rule = f && f->match == KeyFamily::Match::id_prefix;
    if (!all_untouched || alive > 0 || stale == 0 || (prefix_rule && stale > 1)) continue;
    EXPECT_EQ(m.kv.count(key), 0u) << "seed " << seed << ": stale key left: " << key << " renewed=" << plan.report().renewed_during_run << " touched=" << m.touched.size() << " amb=" << plan.report().keys_kept_ambiguous << " deleted=" << plan.report().keys_deleted;
  }
}

TEST(CleanupPlanModel, NothingAliveIsEverDeletedAndEveryUnambiguouslyStaleKeyGoes) {
  for (std::uint32_t seed = 1; seed <= 3000; ++seed) {
    run_one(seed, seed % 3 == 0 ? 0 : 150);
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(CleanupPlan, ARenewalBetweenReadAndDeleteKeepsEveryKeyAndIsCounted) {
  Model m;
  m.kv["blocking:heartbeat:c1"] = m.heartbeat(kNow - kThreshold - 5);
  m.kv["blocking:ack:c1:agent"] = "1";
  m.kv["blocking:signal:c1"] = "x";
  PlanOptions o;
  o.threshold_ms = kThreshold;
  CleanupPlan plan(o);
  std::vector<std::string> keys = {"blocking:ack:c1:agent", "blocking:heartbeat:c1", "blocking:signal:c1"};
  std::vector<std::string_view> views(keys.begin(), keys.end());
  auto reads = plan.on_page(0, views);
  ASSERT_EQ(reads, std::vector<std::string>{"blocking:heartbeat:c1"});
  const std::string v = m.kv["blocking:heartbeat:c1"];
  HeartbeatRead answer{HeartbeatRead::Kind::value, v};
  plan.on_reads(0, std::span(&answer, 1), kNow);
  m.kv["blocking:heartbeat:c1"] = m.heartbeat(kNow);  // renewed before any delete
  plan.end_scan();
  while (plan.has_batch()) { auto b = plan.take_batch(); plan.on_outcome(b, m.apply(b)); }
  plan.prefinal();
  plan.final_groups();
  while (plan.has_batch()) { auto b = plan.take_batch(); plan.on_outcome(b, m.apply(b)); }
  EXPECT_EQ(m.kv.size(), 3u);
  EXPECT_EQ(plan.report().renewed_during_run, 1u);
  EXPECT_EQ(plan.report().keys_deleted, 0u);
}

// On a cluster the final groups go by heartbeat slot: a batch's coordinators share
// slots, so its per-slot atomic steps hold several coordinators each.
TEST(CleanupPlan, SlotOrderSendsFinalGroupsInTheOrderOfTheirHeartbeatsSlot) {
  Model m;
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    const std::string id = "{c" + std::to_string(i % 40) + "}-" + std::to_string(i);  // 40 slots, ~7 each
    keys.push_back("blocking:heartbeat:" + id);
    m.kv[keys.back()] = m.heartbeat(kNow - kThreshold - 5);
    keys.push_back("blocking:signal:" + id);
    m.kv[keys.back()] = "x";
  }
  PlanOptions o;
  o.threshold_ms = kThreshold;
  o.slot_order = true;
  o.batch_keys = 60;
  CleanupPlan plan(o);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  auto reads = plan.on_page(0, views);
  std::vector<HeartbeatRead> answers;
  for (const auto& k : reads) answers.push_back({HeartbeatRead::Kind::value, m.kv[k]});
  plan.on_reads(0, answers, kNow);
  plan.end_scan();
  while (plan.has_batch()) { auto b = plan.take_batch(); plan.on_outcome(b, m.apply(b)); }
  plan.prefinal();
  plan.final_groups();
  int last = -1;
  std::size_t slots_per_batch = 0, batches = 0;
  while (plan.has_batch()) {
    auto b = plan.take_batch();
    std::set<std::uint16_t> slots;
    for (const auto& k : b.check_keys) {
      EXPECT_GE(key_slot(k), last) << k;
      last = key_slot(k);
      slots.insert(key_slot(k));
    }
    slots_per_batch += slots.size();
    ++batches;
    plan.on_outcome(b, m.apply(b));
  }
  EXPECT_TRUE(m.kv.empty());
  EXPECT_EQ(plan.report().coordinators_reaped, 300u);
  EXPECT_LE(slots_per_batch, batches * 6) << "about 30 coordinators a batch, in at most a few slots";
}

TEST(CleanupPlan, OversizedAndWrongTypeHeartbeatsAreInvalidAndTheirKeysStay) {
  PlanOptions o;
  o.max_heartbeat_bytes = 16;
  CleanupPlan plan(o);
  std::vector<std::string> keys = {"blocking:heartbeat:big", "blocking:heartbeat:hash", "blocking:ack:big:a"};
  std::vector<std::string_view> views(keys.begin(), keys.end());
  auto reads = plan.on_page(0, views);
  ASSERT_EQ(reads.size(), 2u);
  const std::string big = R"({"timestamp":1000,"pad":"xxxxxxxxxxxxxxxx"})";
  HeartbeatRead answers[2] = {{HeartbeatRead::Kind::value, std::string_view(big).substr(0, 17)},
                              {HeartbeatRead::Kind::wrong_type, {}}};
  plan.on_reads(0, answers, kNow);
  plan.end_scan();
  plan.prefinal();
  plan.final_groups();
  EXPECT_FALSE(plan.has_batch());
  plan.count_coordinators();
  EXPECT_EQ(plan.report().invalid_heartbeats, 2u);
}

}  // namespace
}  // namespace swarmkeeper::coord

namespace swarmkeeper::coord {
namespace {

TEST(Pacer, PausesOnlyOverBudgetAndAtMostASecondAtATime) {
  EXPECT_EQ(Pacer(0).pause(900, 1000).count(), 0) << "unpaced";
  EXPECT_EQ(Pacer(20).pause(150, 1000).count(), 0) << "15 % of wall: under budget";
  EXPECT_EQ(Pacer(20).pause(300, 1000), std::chrono::milliseconds(500)) << "300 ms busy needs 1.5 s of wall";
  EXPECT_EQ(Pacer(10).pause(900, 1000), std::chrono::seconds(1)) << "capped, measured again after";
  EXPECT_EQ(Pacer(50).pause(std::nan(""), 1000).count(), 0);
}

TEST(Msgpack, UnsignedArraysInEveryWidth) {
  const std::uint32_t small[] = {1, 127};
  EXPECT_EQ(msgpack_uint_array(small), std::string("\x92\x01\x7f", 3));
  const std::uint32_t wide[] = {128, 256, 70000};
  EXPECT_EQ(msgpack_uint_array(wide), std::string("\x93\xcc\x80\xcd\x01\x00\xce\x00\x01\x11\x70", 11));
  std::vector<std::uint32_t> many(20, 5);
  EXPECT_EQ(msgpack_uint_array(many).substr(0, 3), std::string("\xdc\x00\x14", 3));
}

}  // namespace
}  // namespace swarmkeeper::coord
