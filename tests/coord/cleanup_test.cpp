// SPDX-License-Identifier: Apache-2.0
// cleanup_test.cpp — the cleanup against real redis-servers: the reference scenario, dry
// run, renewals mid-run, awkward ids, shared idempotency keys, malformed heartbeats,
// scripts refused, a connection lost mid-run, the lock.
#include "swarmkeeper/coord/cleanup.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "coord/heartbeat_values.hpp"
#include "support/cli_runner.hpp"
#include "support/redis_fixture.hpp"
#include "swarmkeeper/coord/seed.hpp"

namespace swarmkeeper {
namespace {

using swarmkeeper::testing::BlockingClient;

class CleanupTest : public swarmkeeper::testing::RedisTest {
 protected:
  // Writes one coordinator with the reference scenario's six keys, heartbeat `age_s` seconds old.
  void coordinator(BlockingClient& r, const std::string& id, std::int64_t age_s) {
    const auto ts = std::to_string(r.now_ms() - age_s * 1000);
    r("SET", "blocking:heartbeat:" + id, R"({"coordinatorId":"x","timestamp":)" + ts + "}");
    r("SET", "blocking:signal:" + id, "CONTINUE");
    r("SET", "blocking:ack:" + id + ":agent-1", "1");
    r("SET", "blocking:ack:" + id + ":agent-2", "1");
    r("SET", "blocking:idempotency:" + id + ":init", "1");
    r("SET", "coordinator:activity:" + id, ts);
  }
  std::int64_t keys_of(BlockingClient& r, const std::string& id) {
    return r("EXISTS", "blocking:heartbeat:" + id, "blocking:signal:" + id, "blocking:ack:" + id + ":agent-1",
             "blocking:ack:" + id + ":agent-2", "blocking:idempotency:" + id + ":init",
             "coordinator:activity:" + id)
        .integer();
  }
  CleanupReport cleanup(CleanupOptions o = {}) {
    auto r = run_cleanup(options(), o);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : CleanupReport{};
  }
};

TEST_F(CleanupTest, ReferenceScenarioTenThousandRemovesAllStaleAndNoActiveKeys) {
  for (Recheck mode : {Recheck::automatic, Recheck::transaction}) {
    SeedOptions seed;
    ASSERT_TRUE(seed_scenario(options(), seed));
    CleanupOptions o;
    o.recheck = mode;
    auto rep = cleanup(o);
    EXPECT_EQ(rep.total_coordinators_checked, 10000u);
    EXPECT_EQ(rep.stale_coordinators_found, 9900u);
    EXPECT_EQ(rep.active_coordinators, 100u);
    EXPECT_EQ(rep.keys_deleted, 59400u);
    EXPECT_EQ(rep.coordinators_reaped, 9900u);
    EXPECT_EQ(rep.stale_coordinator_ids.size(), 100u);
    EXPECT_EQ(rep.stale_coordinator_ids_omitted, 9800u);
    EXPECT_EQ(rep.mode, mode == Recheck::automatic ? "script" : "transaction");
    EXPECT_EQ(rep.recheck, mode == Recheck::automatic ? "atomic-script" : "atomic-transaction");
    EXPECT_TRUE(rep.errors.empty());
    auto check = verify_scenario(options(), seed);
    ASSERT_TRUE(check);
    EXPECT_EQ(check->stale_keys_left, 0u);
    EXPECT_EQ(check->active_keys_present, 600u);
    BlockingClient r(options());
    std::size_t audited = 0;
    const resp::Reply entries = r("XRANGE", "swarmkeeper:reaped", "-", "+");  // outlives the loop
    for (resp::ReplyRef e : entries.root())
      for (std::size_t f = 0; f + 1 < e[1].size(); f += 2) audited += e[1][f].str() == "id";
    EXPECT_EQ(audited, 9900u) << "every reaped coordinator in the audit stream";
    EXPECT_FALSE(r.exists("swarmkeeper:cleanup:lock")) << "the lock is released";
    r("FLUSHALL");
  }
}

TEST_F(CleanupTest, DryRunDeletesNothingAndReportsWhatARealRunDeletes) {
  SeedOptions seed{.coordinators = 2000, .stale = 1500};
  ASSERT_TRUE(seed_scenario(options(), seed));
  BlockingClient r(options());
  const auto before = r("DBSIZE").integer();
  CleanupOptions dry;
  dry.dry_run = true;
  auto d = cleanup(dry);
  EXPECT_TRUE(d.dry_run);
  EXPECT_EQ(r("DBSIZE").integer(), before) << "a dry run deletes nothing";
  EXPECT_EQ(r("EXISTS", "swarmkeeper:reaped").integer(), 0) << "and writes no audit";
  auto real = cleanup();
  EXPECT_EQ(d.keys_deleted, real.keys_deleted);
  EXPECT_EQ(d.keys_deleted, 1500u * 6);
  EXPECT_EQ(d.stale_coordinators_found, real.stale_coordinators_found);
  EXPECT_EQ(d.total_coordinators_checked, real.total_coordinators_checked);
  EXPECT_EQ(r("DBSIZE").integer(), before - static_cast<std::int64_t>(real.keys_deleted) + 1)
      << "+1: the audit stream";
}

TEST_F(CleanupTest, CoordinatorsThatHeartbeatDuringTheRunLoseNothing) {
  for (Recheck mode : {Recheck::automatic, Recheck::transaction}) {
    SeedOptions seed{.coordinators = 5000, .stale = 5000};
    ASSERT_TRUE(seed_scenario(options(), seed));
    CleanupOptions o;
    o.recheck = mode;
    o.batch_keys = 50;  // many batches: the renewals land between reading and deleting
    o.before_first_delete = [&] {
      BlockingClient w(options());
      const auto now = std::to_string(w.now_ms());
      for (int i = 1; i <= 200; ++i)
        w("SET", "blocking:heartbeat:" + seed_coordinator_id(seed, static_cast<std::uint64_t>(i) * 25),
          R"({"timestamp":)" + now + "}");
    };
    auto rep = cleanup(o);
    EXPECT_TRUE(rep.errors.empty());
    BlockingClient r(options());
    for (int i = 1; i <= 200; ++i)
      ASSERT_EQ(keys_of(r, seed_coordinator_id(seed, static_cast<std::uint64_t>(i * 25))), 6)
          << "renewed coordinator " << i * 25;
    // Each renewed coordinator was read either as stale before it renewed (then found
    // alive at delete time: renewed during the run) or as active after.
    EXPECT_EQ(rep.renewed_during_run + rep.active_coordinators, 200u);
    EXPECT_EQ(rep.keys_deleted, (5000u - 200u) * 6);
    r("FLUSHALL");
  }
}

TEST_F(CleanupTest, AwkwardIdsArePreciselyAttributed) {
  BlockingClient r(options());
  const std::vector<std::string> stale = {"coord-1", "a",          "glob*",    "q?",
                                          "[set]",   "with space", "ünï:çødé", "back\\slash"};
  const std::vector<std::string> active = {"coord-10", "coord-1x", "a:b", "glob", "q", "set"};
  for (const auto& id : stale) coordinator(r, id, 700);
  for (const auto& id : active) coordinator(r, id, 10);
  r("SET", "blocking:ack:a:c:agent", "1");  // only "a" can own it: deleted with "a"
  auto rep = cleanup();
  EXPECT_TRUE(rep.errors.empty());
  for (const auto& id : stale) EXPECT_EQ(keys_of(r, id), 0) << "stale " << id;
  for (const auto& id : active) {
    // "a:b"'s ack keys (blocking:ack:a:b:agent-N) could also be "a"'s: they are kept either way.
    EXPECT_EQ(keys_of(r, id), 6) << "active " << id;
  }
  EXPECT_FALSE(r.exists("blocking:ack:a:c:agent"));
  EXPECT_EQ(rep.keys_kept_ambiguous, 2u) << "blocking:ack:a:b:agent-1/2 name both a and a:b";
  EXPECT_EQ(rep.stale_coordinators_found, stale.size());
}

TEST_F(CleanupTest, IdempotencyKeysSurviveWhileAnyCoordinatorTheyNameIsAlive) {
  BlockingClient r(options());
  coordinator(r, "sender", 700);
  coordinator(r, "receiver", 10);
  coordinator(r, "other", 700);
  r("SET", "blocking:idempotency:sender:receiver:msg-1", "1");
  r("SET", "blocking:idempotency:sender:other:msg-2", "1");
  r("SET", "blocking:idempotency:nobody:msg-3", "1");
  auto rep = cleanup();
  EXPECT_TRUE(r.exists("blocking:idempotency:sender:receiver:msg-1")) << "names a living coordinator";
  EXPECT_FALSE(r.exists("blocking:idempotency:sender:other:msg-2")) << "both named are stale";
  EXPECT_TRUE(r.exists("blocking:idempotency:nobody:msg-3")) << "orphans stay without --orphans";
  EXPECT_GE(rep.orphan_keys_seen, 1u);
}

TEST_F(CleanupTest, MalformedHeartbeatsAreCountedAndLeftAlone) {
  BlockingClient r(options());
  coordinator(r, "good-stale", 700);
  for (const char* id : {"bad-1", "bad-2", "bad-3", "bad-4"}) coordinator(r, id, 700);
  r("SET", "blocking:heartbeat:bad-1", "not json at all");
  r("SET", "blocking:heartbeat:bad-2", R"({"timestamp":"yesterday"})");
  r("SET", "blocking:heartbeat:bad-3", R"({"seq":1})");
  r("SET", "blocking:heartbeat:bad-4",
    R"({"timestamp":)" + std::to_string(r.now_ms() + 3600000) + "}");  // future: alive
  auto rep = cleanup();
  EXPECT_EQ(rep.invalid_heartbeats, 3u);
  EXPECT_EQ(rep.active_coordinators, 1u);
  EXPECT_EQ(rep.stale_coordinators_found, 1u);
  for (const char* id : {"bad-1", "bad-2", "bad-3", "bad-4"}) EXPECT_EQ(keys_of(r, id), 6) << id;
  EXPECT_EQ(keys_of(r, "good-stale"), 0);
}

TEST_F(CleanupTest, OrphansGoOnlyWhenAskedAndOnlyByTheTimestampTheyCarry) {
  BlockingClient r(options());
  const std::string old_ms = std::to_string(r.now_ms() - 5000), new_ms = std::to_string(r.now_ms());
  r("SET", "blocking:idempotency:nobody:old:" + old_ms, "1");
  r("SET", "blocking:idempotency:nobody:new:" + new_ms, "1");
  r("SET", "blocking:idempotency:nobody:json", R"({"timestamp":)" + old_ms + "}");
  r("SET", "blocking:idempotency:nobody:plain", "1");
  CleanupOptions o;
  o.threshold = std::chrono::milliseconds(2000);
  auto without = cleanup(o);
  EXPECT_EQ(without.orphan_keys_seen, 4u);
  EXPECT_EQ(without.orphans_deleted, 0u) << "orphans stay without --orphans";
  o.orphans = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // idle clocks now read 1-2 s for all four
  auto with = cleanup(o);
  EXPECT_EQ(with.orphans_deleted, 2u);
  EXPECT_FALSE(r.exists("blocking:idempotency:nobody:old:" + old_ms));
  EXPECT_FALSE(r.exists("blocking:idempotency:nobody:json"));
  EXPECT_TRUE(r.exists("blocking:idempotency:nobody:new:" + new_ms)) << "its name says it is 1.1 s old";
  EXPECT_TRUE(r.exists("blocking:idempotency:nobody:plain"))
      << "no timestamp: an orphan's age is never guessed";
}

// Death by absence, where the keys carry no timestamp (the reference values "1" and "CONTINUE"):
// the first run records the coordinator as absent and deletes none of them; a run past
// the threshold after that deletes them all; a liveness record that comes back clears it.
TEST_F(CleanupTest, AbsentCoordinatorsWithoutTimestampsGoOnceSeenAbsentLongerThanTheThreshold) {
  BlockingClient r(options());
  for (const char* id : {"ghost", "returns"}) {
    r("SET", std::string("blocking:signal:") + id, "CONTINUE");
    r("SET", std::string("blocking:ack:") + id + ":agent-1", "1");
  }
  CleanupOptions o;
  o.threshold = std::chrono::milliseconds(1000);
  auto first = cleanup(o);
  EXPECT_EQ(first.absent_coordinators_found, 2u);
  EXPECT_EQ(first.absent_recorded, 2u);
  EXPECT_EQ(first.keys_deleted, 0u);
  EXPECT_EQ(r("HLEN", "swarmkeeper:absent").integer(), 2);
  auto again = cleanup(o);
  EXPECT_EQ(again.keys_deleted, 0u) << "seen absent for less than the threshold";
  EXPECT_EQ(again.absent_recorded, 0u) << "the first sighting stands";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  r("SET", "coordinator:activity:returns", std::to_string(r.now_ms()));  // alive again
  auto third = cleanup(o);
  EXPECT_FALSE(r.exists("blocking:signal:ghost"));
  EXPECT_FALSE(r.exists("blocking:ack:ghost:agent-1"));
  EXPECT_TRUE(r.exists("blocking:signal:returns"));
  EXPECT_EQ(third.absent_reaped_after_waiting, 1u);
  EXPECT_EQ(third.absent_keys_deleted, 2u);
  EXPECT_EQ(r("HLEN", "swarmkeeper:absent").integer(), 0) << "reaped, or alive again: both records cleared";
  o.dry_run = true;
  r("DEL", "coordinator:activity:returns");
  auto dry = cleanup(o);
  EXPECT_EQ(dry.absent_recorded, 1u) << "a dry run says it would record";
  EXPECT_EQ(r("HLEN", "swarmkeeper:absent").integer(), 0) << "and writes nothing";
}

TEST_F(CleanupTest, ASecondConcurrentRunIsTurnedAway) {
  BlockingClient r(options());
  coordinator(r, "stale-one", 700);
  r("SET", "swarmkeeper:cleanup:lock", "someone-else", "PX", 60000);
  auto rep = cleanup();
  EXPECT_TRUE(rep.lock_busy);
  EXPECT_EQ(keys_of(r, "stale-one"), 6);
  EXPECT_EQ(r("GET", "swarmkeeper:cleanup:lock").str(), "someone-else")
      << "the other run's lock is untouched";
}

TEST_F(CleanupTest, ConnectionLostMidRunReportsAnErrorAndDeletesNothingAlive) {
  SeedOptions seed{.coordinators = 20000, .stale = 19000};
  ASSERT_TRUE(seed_scenario(options(), seed));
  CleanupOptions o;
  // The dead run's lock must expire soon; 2 s, not less: a slow (sanitized) run whose
  // event loop stalls past 90 % of the ttl rightly stops, its lock possibly expired.
  o.lock_ttl = std::chrono::milliseconds(2000);
  o.before_first_delete = [&] {
    BlockingClient killer(options());
    killer("CLIENT", "KILL", "USER", "default", "SKIPME", "yes");
  };
  auto r = run_cleanup(options(), o);
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->errors.empty());
  bool said = false;
  for (const auto& e : r->errors) said = said || e.find("connection") != std::string::npos;
  EXPECT_TRUE(said) << r->errors[0];
  auto check = verify_scenario(options(), seed);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->active_keys_present, check->active_keys_total) << "no active key touched";
  // A re-run (once the dead run's lock expired) finishes the job: heartbeats go last, so
  // every key left behind is still attributable.
  CleanupOptions rerun;
  rerun.wait_for_lock = true;
  auto again = run_cleanup(options(), rerun);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->errors.empty());
  auto done = verify_scenario(options(), seed);
  EXPECT_TRUE(done->perfect());
}

TEST(CleanupAcl, ScriptsRefusedByAclFallBackToTransactionsAndSaySo) {
  auto server = swarmkeeper::testing::start_server(
      {.extra_args = {"--user", "cleaner", "on", ">pw", "~*", "+@all", "-@scripting"}});
  ASSERT_TRUE(server);
  ConnectionOptions c;
  c.port = server->port();
  c.username = "cleaner";
  c.password = "pw";
  SeedOptions seed{.coordinators = 1000, .stale = 900};
  ASSERT_TRUE(seed_scenario(c, seed));
  CleanupOptions o;
  auto r = run_cleanup(c, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->mode, "transaction");
  EXPECT_EQ(r->recheck, "atomic-transaction");
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes[0].find("WATCH/MULTI/EXEC"), std::string::npos) << r->notes[0];
  EXPECT_TRUE(r->errors.empty());
  EXPECT_TRUE(verify_scenario(c, seed)->perfect());
}

TEST(CleanupAuth, WrongPasswordFailsToStartWithAuthFailed) {
  auto server = swarmkeeper::testing::start_server({.extra_args = {"--requirepass", "right"}});
  ASSERT_TRUE(server);
  ConnectionOptions c;
  c.port = server->port();
  c.password = "wrong";
  auto r = run_cleanup(c, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::auth_failed);
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

// The race the default mode lost before: renewals land between the re-check and the
// delete. A writer revives random stale coordinators (fresh heartbeat only if all six of
// their keys still exist) while the cleanup runs; none may lose a key.
void race(const ConnectionOptions& admin, const ConnectionOptions& cleaner, const char* expected_recheck) {
  SeedOptions seed{.coordinators = 20000, .stale = 20000};
  ASSERT_TRUE(seed_scenario(admin, seed));
  std::atomic<bool> done{false};
  std::vector<std::string> revived;
  std::thread writer([&] {
    BlockingClient w(admin);
    std::mt19937 rng(7);
    const char* revive = R"lua(
      if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]) == 6 then
        redis.call('SET', KEYS[1], ARGV[1]) return 1 end return 0)lua";
    while (!done.load()) {
      const std::string id = seed_coordinator_id(seed, 1 + rng() % seed.stale);
      const auto r = w("EVAL", revive, 6, "blocking:heartbeat:" + id, "blocking:signal:" + id,
                       "blocking:ack:" + id + ":agent-1", "blocking:ack:" + id + ":agent-2",
                       "blocking:idempotency:" + id + ":init", "coordinator:activity:" + id,
                       R"({"timestamp":)" + std::to_string(w.now_ms()) + "}");
      if (r.integer() == 1) revived.push_back(id);
    }
  });
  CleanupOptions o;
  o.batch_keys = 50;
  auto rep = run_cleanup(cleaner, o);
  done = true;
  writer.join();
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_TRUE(rep->errors.empty()) << rep->errors[0];
  EXPECT_EQ(rep->recheck, expected_recheck);
  BlockingClient r(admin);
  std::size_t damaged = 0;
  for (const auto& id : revived) {
    const auto n = r("EXISTS", "blocking:heartbeat:" + id, "blocking:signal:" + id,
                     "blocking:ack:" + id + ":agent-1", "blocking:ack:" + id + ":agent-2",
                     "blocking:idempotency:" + id + ":init", "coordinator:activity:" + id)
                       .integer();
    damaged += n != 6;
  }
  EXPECT_GT(revived.size(), 0u) << "the writer raced the run";
  EXPECT_EQ(damaged, 0u) << "of " << revived.size() << " revived coordinators";
  // And every other coordinator went whole: only the revived ones (and the audit) are left.
  const std::set<std::string> unique(revived.begin(), revived.end());
  EXPECT_EQ(r("DBSIZE").integer(), static_cast<std::int64_t>(unique.size() * 6 + 1));
}

TEST_F(CleanupTest, RevivedMidRunLoseNothingInTheDefaultMode) {
  race(options(), options(), "atomic-script");
}

TEST(CleanupAcl, RevivedMidRunLoseNothingAsAUserWithoutScripting) {
  auto acl = swarmkeeper::testing::start_acl_server("cleaner", "pw", {"~*", "+@all", "-@scripting"});
  ASSERT_TRUE(acl.server);
  race(acl.admin, acl.user, "atomic-transaction");
}

TEST(CleanupAcl, ARefusedReadEndsTheRunWithTheServersReason) {
  auto acl = swarmkeeper::testing::start_acl_server("cleaner", "pw", {"~*", "+@all", "-getrange"});
  ASSERT_TRUE(acl.server);
  const ConnectionOptions admin = acl.admin;
  SeedOptions seed{.coordinators = 500, .stale = 400};
  ASSERT_TRUE(seed_scenario(admin, seed));
  auto r = run_cleanup(acl.user, {});
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->errors.empty());
  EXPECT_NE(r->errors[0].find("getrange"), std::string::npos) << r->errors[0];
  EXPECT_EQ(r->keys_deleted, 0u);
  EXPECT_TRUE(verify_scenario(admin, seed)->active_keys_present == 600u);
}

TEST_F(CleanupTest, EveryHeartbeatValueOfTheTableGetsTheVerdictOfTheOneRule) {
  BlockingClient r(options());
  const std::int64_t now = r.now_ms(), threshold = 600000;
  const auto cases = swarmkeeper::testing::heartbeat_cases();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string id = "case-" + std::to_string(i);
    coordinator(r, id, 700);  // its activity record stale too: the heartbeat alone decides
    r("SET", "blocking:heartbeat:" + id,
      swarmkeeper::testing::fill(cases[i].value, now - threshold - 5000, now));
  }
  r("HSET", "blocking:heartbeat:hash-typed", "timestamp", "1");
  r("SET", "blocking:signal:hash-typed", "x");
  auto rep = cleanup();
  EXPECT_TRUE(rep.errors.empty());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const bool stale = cases[i].verdict == HeartbeatState::stale;
    EXPECT_EQ(keys_of(r, "case-" + std::to_string(i)), stale ? 0 : 6) << cases[i].name;
  }
  EXPECT_TRUE(r.exists("blocking:signal:hash-typed"))
      << "a heartbeat of another type is unreadable, not absent";
}

TEST_F(CleanupTest, SubSecondThresholdIsExactToTheMillisecond) {
  BlockingClient r(options());
  coordinator(r, "fresh", 0);
  CleanupOptions o;
  o.threshold = std::chrono::milliseconds(500);
  auto rep = cleanup(o);
  EXPECT_EQ(keys_of(r, "fresh"), 6) << "written moments ago: younger than 500 ms";
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  rep = cleanup(o);
  EXPECT_EQ(keys_of(r, "fresh"), 0);
}

}  // namespace
}  // namespace swarmkeeper
