// SPDX-License-Identifier: Apache-2.0
// cleanup_plan_test.cpp — the cleanup's rules without a server: a model keyspace, the
// plan's commands carried out against it with the delete step's semantics, and random
// renewals, new coordinators and liveness records appearing between any two steps.
// After every delete: nothing was deleted whose possible owner had a live or unreadable
// liveness record (heartbeat or activity) at that moment, and no key whose own
// timestamp was younger than the threshold. At the end: every key that was
// unambiguously a stale coordinator's (and untouched) is gone, and so is every
// single-owner timestamped key of an absent coordinator whose timestamps are all old;
// after a second run past the threshold, its keys without a timestamp too.
#include "coord/cleanup_plan.hpp"
#include "coord/delete_step.hpp"
#include "coord/pacer.hpp"

#include <gtest/gtest.h>

#include "swarmkeeper/client/cluster_slots.hpp"

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
  std::map<std::string, std::string> records;  // kAbsentKey
  KeySchema schema;
  std::int64_t now = kNow;
  std::vector<std::string> touched;  // ids renewed or created during the run

  std::string heartbeat(std::int64_t ts) { return R"({"timestamp":)" + std::to_string(ts) + "}"; }
  // 0: no liveness record; 1: stale; 2: alive or unreadable (any fresh or unreadable record).
  int live_state(std::string_view id, const std::map<std::string, std::string>& from) const {
    int state = 0;
    for (const auto& r : schema.liveness()) {
      auto it = from.find(r.prefix + std::string(id));
      if (it == from.end()) continue;
      const auto v = judge_liveness(it->second, r.format, r.fields, now, kThreshold);
      if (v.state != HeartbeatState::stale) return 2;
      state = 1;
    }
    return state;
  }
  bool alive_or_unreadable(std::string_view id) const { return live_state(id, kv) == 2; }
  bool young(const std::string& key, const std::string& value) const {
    auto ts = key_timestamp(key, &value, schema);
    return ts && (*ts >= now || now - *ts <= kThreshold);
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
        for (auto c : cands)
          EXPECT_FALSE(alive_or_unreadable(c)) << "deleted " << key << " while " << c << " lives";
        bool owners_absent = true;  // a stale coordinator's keys go whatever they carry (the reference rule)
        for (auto c : cands) owners_absent = owners_absent && live_state(c, kv) == 0;
        if (owners_absent && !schema.heartbeat_id(key) && !(f && f->liveness)) {
          EXPECT_FALSE(young(key, kv[key]))
              << "deleted " << key << " = " << kv[key] << ": its own timestamp is young";
        }
        kv.erase(key);
        ++out.unlinked;
      }
    }
    return out;
  }
};

const std::vector<std::string> kIds = {"a",      "a:b",     "b",        "init",  "c*", "q?",    "[s]",
                                       "sp ace", "coord-1", "coord-10", "x:y:z", "x",  "other", "ü",
                                       "n1",     "n2",      "n3",       "n4",    "n5", "n6"};

std::string ms_at(std::int64_t ts) {
  return std::to_string(ts);
}

void populate(Model& m, std::mt19937& rng) {
  std::uniform_int_distribution<int> kind(0, 9);
  auto old_ts = [&] { return kNow - kThreshold - 1 - static_cast<std::int64_t>(rng() % 100000); };
  auto young_ts = [&] { return kNow - static_cast<std::int64_t>(rng() % kThreshold); };
  // A family key's value: untimed ("1", "CONTINUE"), or JSON with an old or a young timestamp.
  auto value = [&](const char* plain) -> std::string {
    switch (rng() % 4) {
      case 0: return R"({"timestamp":)" + ms_at(young_ts()) + R"(,"status":"sent"})";
      case 1:
      case 2: return R"({"startTime":1,"timestamp":)" + ms_at(old_ts()) + "}";
      default: return plain;
    }
  };
  for (const auto& id : kIds) {
    const int k = kind(rng);
    if (k <= 4)
      m.kv[m.schema.heartbeat_key(id)] = m.heartbeat(old_ts());
    else if (k <= 6)
      m.kv[m.schema.heartbeat_key(id)] = m.heartbeat(young_ts());
    else if (k == 7)
      m.kv[m.schema.heartbeat_key(id)] = rng() % 2 ? "garbage" : R"({"timestamp":-5})";
    // k >= 8: no heartbeat (absent, alive by activity alone, or names that are not coordinators)
    const int a = kind(rng);
    if (a <= 3)
      m.kv["coordinator:activity:" + id] = rng() % 2 ? "1" : ms_at(old_ts());
    else if (a == 4)
      m.kv["coordinator:activity:" + id] = R"({"lastActivity":)" + ms_at(young_ts()) + "}";
    if (kind(rng) < 8) {
      m.kv["blocking:signal:" + id] = value("CONTINUE");
      m.kv["blocking:ack:" + id + ":agent-" + std::to_string(rng() % 3)] = value("1");
      m.kv["blocking:idempotency:" + id + ":init"] = "1";
      m.kv["blocking:idempotency:" + id + ":" + kIds[rng() % kIds.size()] +
           ":msg:" + ms_at(rng() % 2 ? old_ts() : young_ts())] = "1";
      if (rng() % 2) m.kv["swarm:s" + std::to_string(rng() % 3) + ":blocking:" + id] = value("1");
    }
  }
  m.kv["swarm:state:s1"] = R"({"timestamp":1})";  // no coordinator's: never touched
}

// One random interleaving step: renew a coordinator's heartbeat or activity, or make a
// new one appear.
void maybe_disturb(Model& m, std::mt19937& rng, int per_mille) {
  if (static_cast<int>(rng() % 1000) >= per_mille) return;
  const std::string& id = kIds[rng() % kIds.size()];
  if (rng() % 2)
    m.kv[m.schema.heartbeat_key(id)] = m.heartbeat(m.now - static_cast<int>(rng() % 1000));
  else
    m.kv["coordinator:activity:" + id] = std::to_string(m.now - static_cast<int>(rng() % 1000));
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

// One cleanup run over the model at m.now: the scan, the absent phase (records in
// m.records), the batches, the final groups.
// Returns whether every key fit the park area (absent coordinators' keys past it wait
// for a later run).
bool run_plan(Model& m, std::mt19937& rng, int disturb) {
  PlanOptions o;
  o.threshold_ms = kThreshold;
  o.batch_keys = 1 + rng() % 12;
  o.park_bytes =
      std::array<std::size_t, 3>{32u << 20, 64, 600}[rng() % 3];  // parking: all, almost none, some
  o.slot_order = rng() % 2 == 0;  // a cluster's order of final groups: the rules must not care
  CleanupPlan plan(o);
  Runner r{m, rng, plan, disturb};
  auto answer = [&](const std::vector<std::string>& reads, std::vector<std::string>& values) {
    std::vector<HeartbeatRead> answers;
    values.clear();
    for (const auto& k : reads) values.push_back(m.kv.count(k) ? m.kv[k] : "");
    for (const auto& v : values)
      answers.push_back({v.empty() ? HeartbeatRead::Kind::empty : HeartbeatRead::Kind::value, v});
    return answers;
  };
  // The scan: the keyspace in random order, random page sizes, pages answered in any order.
  std::vector<std::string> keys;
  for (const auto& [k, v] : m.kv) keys.push_back(k);
  std::shuffle(keys.begin(), keys.end(), rng);
  std::vector<std::pair<std::uint64_t, std::vector<std::string>>> pending;
  std::uint64_t page = 0;
  std::vector<std::string> values;
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
      plan.on_reads(id, answer(reads, values), m.now);
      r.run_batches();
    }
  }
  plan.end_scan();
  r.run_batches();
  plan.find_absent(m.now);
  while (plan.has_absent_reads()) {
    auto reads = plan.take_absent_reads(1 + rng() % 5);
    maybe_disturb(m, rng, disturb);
    plan.on_absent_values(answer(reads, values));
  }
  const auto ids = plan.absent_record_ids();
  std::vector<const std::string*> recs;
  for (const auto& id : ids) recs.push_back(m.records.count(id) ? &m.records[id] : nullptr);
  for (const auto& w : plan.on_absent_records(ids, recs, SIZE_MAX)) m.records[w.id] = w.value;
  plan.prefinal();
  r.run_batches();
  plan.count_coordinators();
  while (!plan.final_groups(1 + rng() % 3)) r.run_batches();
  r.run_batches();
  plan.count_absent();
  for (auto it = m.records.begin(); it != m.records.end();)
    it = plan.keep_absent_record(it->first) ? std::next(it) : m.records.erase(it);
  return plan.unparked_keys() == 0;
}

void run_one(std::uint32_t seed, int disturb) {
  std::mt19937 rng(seed);
  Model m;
  populate(m, rng);
  const std::map<std::string, std::string> start = m.kv;
  const bool roomy = run_plan(m, rng, disturb);
  auto untouched = [&](std::string_view id) {
    return std::find(m.touched.begin(), m.touched.end(), id) == m.touched.end();
  };
  auto state = [&](std::string_view id) {
    return m.live_state(id, start);
  };  // 0 none, 1 stale, 2 alive/unreadable
  // Completeness, stale: a key whose possible owners were untouched, with exactly one of
  // them a stale coordinator (mentions: at least one, all stale) and the rest without a
  // liveness record, is gone; so is that coordinator's heartbeat.
  for (const auto& [key, value] : start) {
    std::vector<std::string_view> cands;
    const KeyFamily* f = m.schema.family_of(key);
    if (auto id = m.schema.heartbeat_id(key))
      cands.push_back(*id);
    else if (!f || !structural_candidates(key, *f, cands))
      continue;
    int stale = 0, alive = 0, none = 0;
    bool all_untouched = true;
    for (auto c : cands) {
      stale += state(c) == 1;
      alive += state(c) == 2;
      none += state(c) == 0;
      all_untouched = all_untouched && untouched(c);
    }
    const bool prefix_rule = f && f->match == KeyFamily::Match::id_prefix;
    // A candidate with no liveness record that other keys name is an absent coordinator
    // (its own rule, below): only keys whose other candidates name nothing are checked here.
    bool absent_named = false;
    for (auto c : cands)
      if (state(c) == 0)
        for (const char* p : {"blocking:signal:", "blocking:ack:", "swarm:"})
          absent_named = absent_named || start.lower_bound(p + std::string(c)) != start.end();
    if (!all_untouched || alive > 0 || stale == 0 || (prefix_rule && stale > 1) || (none > 0 && absent_named))
      continue;
    EXPECT_EQ(m.kv.count(key), 0u) << "seed " << seed << ": stale key left: " << key;
  }
  // Completeness, absent: an untouched id with no liveness record, named by its own
  // signal, every timestamp of whose keys is old: its single-owner timestamped keys go
  // in this run, and (after a second run past the threshold) the untimed ones too.
  const auto young_at_start = [&](const std::string& key, const std::string& value) {
    auto ts = key_timestamp(key, &value, m.schema);
    return ts && (*ts >= kNow || kNow - *ts <= kThreshold);
  };
  auto absent_done = [&](bool untimed_too) {
    for (const auto& id : kIds) {
      if (state(id) != 0 || !untouched(id) || !start.count("blocking:signal:" + id)) continue;
      bool all_old = true, shares = false;
      std::vector<std::string> mine;
      for (const auto& [key, value] : start) {
        const KeyFamily* f = m.schema.family_of(key);
        std::vector<std::string_view> cands;
        if (!f || !structural_candidates(key, *f, cands)) continue;
        if (std::find(cands.begin(), cands.end(), id) == cands.end()) continue;
        if (young_at_start(key, value)) all_old = false;  // any key naming it: a sign of life
        // A key it shares with a coordinator that dies in run 1 becomes its own in run 2:
        // a new key of its, so the clock starts again (by design).
        if (f->match != KeyFamily::Match::mentions)
          for (auto c : cands) shares = shares || (c != id && state(c) != 0);
        bool others_none = true;
        for (auto c : cands) others_none = others_none && (c == id || state(c) != 2);
        if (!others_none) continue;
        if (cands.size() == 1 && (untimed_too || key_timestamp(key, &value, m.schema))) mine.push_back(key);
      }
      if (!all_old || (untimed_too && shares)) continue;
      std::string all;
      for (const auto& [key, value] : start)
        if (key.find(id) != std::string::npos)
          all += "\n  " + key + " = " + value + (m.kv.count(key) ? " (left)" : "");
      for (const auto& key : mine)
        EXPECT_EQ(m.kv.count(key), 0u)
            << "seed " << seed << ": absent " << id << "'s key left: " << key << all;
    }
  };
  if (roomy) absent_done(false);
  // Run 2, past the threshold: nothing is renewed any more, keys without a timestamp of
  // absent coordinators seen in run 1 go.
  m.now += kThreshold + 1;
  if (run_plan(m, rng, 0) && roomy) absent_done(true);
}

TEST(CleanupPlanModel, NothingAliveIsEverDeletedAndEveryUnambiguouslyStaleKeyGoes) {
  for (std::uint32_t seed = getenv("SKSEED") ? atoi(getenv("SKSEED")) : 1; seed <= 3000; ++seed) {
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
  ASSERT_EQ(reads, (std::vector<std::string>{"blocking:heartbeat:c1", "coordinator:activity:c1"}))
      << "every liveness record of an id is read at once";
  const std::string v = m.kv["blocking:heartbeat:c1"];
  HeartbeatRead answer[2] = {{HeartbeatRead::Kind::value, v}, {}};
  plan.on_reads(0, answer, kNow);
  m.kv["blocking:heartbeat:c1"] = m.heartbeat(kNow);  // renewed before any delete
  plan.end_scan();
  while (plan.has_batch()) {
    auto b = plan.take_batch();
    plan.on_outcome(b, m.apply(b));
  }
  plan.prefinal();
  plan.final_groups();
  while (plan.has_batch()) {
    auto b = plan.take_batch();
    plan.on_outcome(b, m.apply(b));
  }
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
  for (const auto& k : reads)
    answers.push_back(m.kv.count(k) ? HeartbeatRead{HeartbeatRead::Kind::value, m.kv[k]} : HeartbeatRead{});
  plan.on_reads(0, answers, kNow);
  plan.end_scan();
  while (plan.has_batch()) {
    auto b = plan.take_batch();
    plan.on_outcome(b, m.apply(b));
  }
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
  ASSERT_EQ(reads.size(), 4u) << "heartbeat and activity of each";
  const std::string big = R"({"timestamp":1000,"pad":"xxxxxxxxxxxxxxxx"})";
  HeartbeatRead answers[4] = {{HeartbeatRead::Kind::value, std::string_view(big).substr(0, 17)},
                              {},
                              {HeartbeatRead::Kind::wrong_type, {}},
                              {}};
  plan.on_reads(0, answers, kNow);
  plan.end_scan();
  plan.prefinal();
  plan.final_groups();
  EXPECT_FALSE(plan.has_batch());
  plan.count_coordinators();
  EXPECT_EQ(plan.report().invalid_heartbeats, 2u);
  const std::vector<std::pair<std::string, std::uint64_t>> why = {{"tooLarge", 1}, {"wrongType", 1}};
  EXPECT_EQ(plan.report().invalid_heartbeat_reasons, why);
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
