// SPDX-License-Identifier: Apache-2.0
// orchestrator_layout_test.cpp — the cleanup on the state the orchestrator really writes
// (lastHeartbeat, JSON timestamps in values, a millisecond field ending idempotency
// names, swarm:<swarmId>:blocking:<id>, TTLs on everything), where a coordinator dies by
// its heartbeat and activity expiring. Our own writer, from the orchestrator's facts.
// Key by key: nothing alive or too young is touched; every coordinator dead for longer
// than the threshold is wholly gone after the first run, after the second where its keys
// carry no timestamp.
#include "swarmkeeper/coord/cleanup.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "support/redis_fixture.hpp"
#include "swarmkeeper/coord/seed.hpp"

namespace swarmkeeper {
namespace {

using swarmkeeper::testing::BlockingClient;

constexpr std::int64_t kThresholdMs =
    4000;  // the orchestrator's 600 s, scaled down so the test can wait it out

class OrchestratorLayoutTest : public swarmkeeper::testing::RedisTest {
 protected:
  enum class Fate { stays, gone_run1, gone_run2 };
  std::map<std::string, Fate> expect_;

  void set(BlockingClient& r, const std::string& key, const std::string& value, int ttl_s, Fate fate) {
    r("SET", key, value, "EX", ttl_s);
    expect_[key] = fate;
  }
  static std::string ms(std::int64_t t) { return std::to_string(t); }
  void heartbeat(BlockingClient& r, const std::string& id, std::int64_t t, Fate f = Fate::stays) {
    set(r, "blocking:heartbeat:" + id,
        R"({"coordinatorId":")" + id + R"(","lastHeartbeat":)" + ms(t) +
            R"(,"sequence":7,"iteration":2,"metadata":{}})",
        300, f);
  }
  void activity(BlockingClient& r, const std::string& id, std::int64_t t, Fate f = Fate::stays) {
    set(r, "coordinator:activity:" + id,
        R"({"coordinatorId":")" + id + R"(","lastActivity":)" + ms(t) +
            R"(,"iteration":2,"phase":"blocking"})",
        600, f);
  }
  // The keys every coordinator has, all written at time t.
  void keys(BlockingClient& r, const std::string& id, std::int64_t t, Fate f) {
    set(r, "blocking:signal:" + id,
        R"({"timestamp":)" + ms(t) + R"(,"senderId":"hub","receiverId":")" + id +
            R"(","iteration":2,"type":"wake","payload":{},"messageId":"m1"})",
        86400, f);
    for (const char* sig : {"sig-1", "sig-2"})
      set(r, "blocking:ack:" + id + ":" + sig,
          R"({"coordinatorId":")" + id + R"(","signalId":")" + sig + R"(","timestamp":)" + ms(t) +
              R"(,"iteration":2,"status":"received","signature":"ab","metadata":{}})",
          3600, f);
    set(r, "blocking:idempotency:hub:" + id + ":wake:2:" + ms(t), "1", 86400, f);
    set(r, "swarm:swarm-1:blocking:" + id,
        R"({"status":"waiting","startTime":)" + ms(t) +
            R"(,"signalType":"wake","iteration":2,"phase":"blocking","swarmId":"swarm-1","coordinatorId":")" +
            id + R"(","timestamp":)" + ms(t) + "}",
        86400, f);
  }
  CleanupReport cleanup() {
    CleanupOptions o;
    o.threshold = std::chrono::milliseconds(kThresholdMs);
    auto r = run_cleanup(options(), o);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    if (r) {
      EXPECT_TRUE(r->errors.empty()) << r->errors.front();
    }
    return r ? *r : CleanupReport{};
  }
  void check(BlockingClient& r, int run) {
    for (const auto& [key, fate] : expect_) {
      const bool gone = fate == Fate::gone_run1 || (fate == Fate::gone_run2 && run >= 2);
      EXPECT_EQ(r.exists(key), !gone)
          << "after run " << run << ": " << key << (gone ? " should be gone" : " should stay");
    }
  }
};

TEST_F(OrchestratorLayoutTest, DeadCoordinatorsGoWholeAndNothingAliveOrYoungIsTouched) {
  BlockingClient r(options());
  const std::int64_t now = r.now_ms();
  const std::int64_t old = now - 3 * kThresholdMs, recent = now - kThresholdMs / 4;
  // Alive by heartbeat (and activity), keys written a while ago.
  heartbeat(r, "alive-hb", now - 500);
  activity(r, "alive-hb", now - 500);
  keys(r, "alive-hb", old, Fate::stays);
  // Alive by activity alone: no heartbeat writer at all, old ACKs.
  activity(r, "alive-act", now - 300);
  keys(r, "alive-act", old, Fate::stays);
  // Dead past the threshold: heartbeat and activity expired, every key's timestamp old.
  for (const char* id : {"dead-1", "dead-2", "dead_3"}) keys(r, id, old, Fate::gone_run1);
  // Dead, not yet past it: its last signal came moments ago, its ACKs are old.
  keys(r, "dying", old, Fate::stays);
  set(r, "blocking:signal:dying",
      R"({"timestamp":)" + ms(recent) + R"(,"senderId":"hub","receiverId":"dying"})", 86400, Fate::stays);
  // Just started: keys before its first heartbeat — a young signal, and "1" values
  // written after a quiet spell (small integers share one object and one idle clock).
  set(r, "blocking:ack:newbie:sig-1", "1", 3600, Fate::stays);
  set(r, "blocking:signal:newbie", R"({"timestamp":)" + ms(now) + "}", 86400, Fate::stays);
  // Just started with nothing but untimed keys: recorded, never deleted in its first run.
  set(r, "blocking:ack:quiet:sig-1", "1", 3600, Fate::stays);
  // Dead past the threshold with keys that carry no timestamp (the reference values): the
  // first run records it, the second (past the threshold) deletes them.
  set(r, "blocking:signal:ghost", "CONTINUE", 86400, Fate::gone_run2);
  set(r, "blocking:ack:ghost:sig-1", "1", 3600, Fate::gone_run2);
  set(r, "blocking:ack:ghost:sig-2", R"({"timestamp":)" + ms(old) + "}", 3600, Fate::gone_run1);
  // Idempotency records shared by a dead and a living coordinator stay; by two dead ones go.
  set(r, "blocking:idempotency:dead-1:alive-hb:wake:2:" + ms(old), "1", 86400, Fate::stays);
  set(r, "blocking:idempotency:dead-1:dead-2:wake:2:" + ms(old), "1", 86400, Fate::gone_run1);
  set(r, "blocking:idempotency:dead-2:alive-act:wake:2:" + ms(old), "1", 86400, Fate::stays);
  // Bystanders: other swarm:* keys belong to no coordinator.
  set(r, "swarm:state:swarm-1", R"({"status":"running","timestamp":1})", 86400, Fate::stays);
  set(r, "swarm:swarm-1:config", R"({"timestamp":1})", 86400, Fate::stays);
  set(r, "swarm:swarm-1:blocking", "x", 86400, Fate::stays);

  const auto first = cleanup();
  check(r, 1);
  EXPECT_EQ(first.active_coordinators, 2u);
  EXPECT_EQ(first.invalid_heartbeats, 0u) << "lastHeartbeat reads";
  EXPECT_EQ(first.absent_coordinators_found, 7u) << "dead-1, dead-2, dead_3, dying, newbie, quiet, ghost";
  EXPECT_EQ(first.absent_reaped_by_timestamps, 3u);
  EXPECT_EQ(first.absent_recorded, 2u) << "quiet and ghost: keys without a timestamp";
  EXPECT_EQ(first.absent_waiting, 4u) << "dying, newbie (young keys); quiet, ghost (first seen)";
  EXPECT_EQ(r("HLEN", "swarmkeeper:absent").integer(), 2);

  // Past the threshold. The living keep writing; newbie and quiet started heartbeating.
  std::this_thread::sleep_for(std::chrono::milliseconds(kThresholdMs + 300));
  const std::int64_t later = r.now_ms();
  heartbeat(r, "alive-hb", later);
  activity(r, "alive-act", later);
  heartbeat(r, "newbie", later);
  heartbeat(r, "quiet", later);
  expect_["blocking:signal:dying"] = Fate::gone_run2;  // now dead past the threshold too
  for (const auto& [key, fate] : std::map<std::string, Fate>(expect_))
    if (key.find("dying") != std::string::npos) expect_[key] = Fate::gone_run2;
  const auto second = cleanup();
  check(r, 2);
  EXPECT_EQ(second.absent_reaped_after_waiting, 1u) << "ghost";
  EXPECT_EQ(r("HLEN", "swarmkeeper:absent").integer(), 0) << "ghost reaped, quiet alive: no record left";
}

TEST_F(OrchestratorLayoutTest, TheHarnessAndPerfFormatsReadToo) {
  BlockingClient r(options());
  const std::int64_t now = r.now_ms();
  // The test harness: {"timestamp"} with SETEX 90; the perf script: the reference layout, no TTL.
  r("SET", "blocking:heartbeat:harness",
    R"({"coordinatorId":"harness","timestamp":)" + ms(now) + R"(,"status":"active"})", "EX", 90);
  r("SET", "blocking:ack:harness:s", "1");
  r("SET", "blocking:heartbeat:perf",
    R"({"coordinatorId":"perf","timestamp":)" + ms(now - 10 * kThresholdMs) + "}");
  r("SET", "blocking:ack:perf:s", "1");
  // A writer of its own: the field is called lastSeen. Unreadable: left alone, and said why.
  r("SET", "blocking:heartbeat:custom", R"({"lastSeen":)" + ms(now - 10 * kThresholdMs) + "}");
  r("SET", "blocking:ack:custom:s", "1");
  const auto rep = cleanup();
  EXPECT_TRUE(r.exists("blocking:ack:harness:s"));
  EXPECT_FALSE(r.exists("blocking:ack:perf:s"));
  EXPECT_TRUE(r.exists("blocking:ack:custom:s"));
  EXPECT_EQ(rep.invalid_heartbeats, 1u);
  ASSERT_EQ(rep.invalid_heartbeat_reasons.size(), 1u);
  EXPECT_EQ(rep.invalid_heartbeat_reasons[0].first, "noField");
  EXPECT_EQ(rep.invalid_heartbeat_examples, std::vector<std::string>{"blocking:heartbeat:custom"});
  EXPECT_NE(rep.invalid_heartbeat_hint.find(R"("lastSeen")"), std::string::npos)
      << rep.invalid_heartbeat_hint;
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

// Regressions from a hostile test of the absent-coordinator rules.
class AbsentHostileTest : public swarmkeeper::testing::RedisTest {
 protected:
  CleanupReport cleanup(CleanupOptions o = {}) {
    if (o.threshold == std::chrono::milliseconds(600000))
      o.threshold = std::chrono::milliseconds(kThresholdMs);
    auto r = run_cleanup(options(), o);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : CleanupReport{};
  }
  static std::string ms(std::int64_t t) { return std::to_string(t); }
};

TEST_F(AbsentHostileTest, AYoungKeyPastTheParkAreaKeepsItsCoordinatorsOldKeys) {
  BlockingClient r(options());
  const std::int64_t old = r.now_ms() - 3 * kThresholdMs;
  for (int i = 0; i < 300; ++i) {
    const std::string id = "absent-coordinator-with-a-long-name-" + std::to_string(i);
    r("SET", "blocking:signal:" + id, R"({"timestamp":)" + ms(old) + "}");
    r("SET", "blocking:ack:" + id + ":s1", R"({"timestamp":)" + ms(r.now_ms()) + "}");
  }
  CleanupOptions o;
  o.park_bytes = 4096;  // most keys find it full
  const auto rep = cleanup(o);
  EXPECT_EQ(rep.keys_deleted, 0u) << "every one of them has a young ACK";
  bool said = false;
  for (const auto& n : rep.notes) said = said || n.find("park area full") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST_F(AbsentHostileTest, AKeyRewrittenYoungDuringTheRunKeepsAllOfItsCoordinatorsKeys) {
  BlockingClient r(options());
  const std::int64_t old = r.now_ms() - 3 * kThresholdMs;
  for (const char* k : {"blocking:signal:ax", "blocking:ack:ax:s1", "swarm:sw:blocking:ax"})
    r("SET", k, R"({"timestamp":)" + ms(old) + "}");
  CleanupOptions o;
  o.before_first_delete = [&] {  // read as old; rewritten young before the delete
    BlockingClient w(options());
    w("SET", "blocking:ack:ax:s1", R"({"timestamp":)" + ms(w.now_ms()) + "}");
  };
  const auto rep = cleanup(o);
  EXPECT_TRUE(r.exists("blocking:signal:ax"));
  EXPECT_TRUE(r.exists("swarm:sw:blocking:ax"));
  EXPECT_TRUE(r.exists("blocking:ack:ax:s1"));
  EXPECT_EQ(rep.keys_deleted, 0u);
}

TEST_F(AbsentHostileTest, AKeyThatCannotBeReadKeepsItsCoordinatorsOldKeys) {
  BlockingClient r(options());
  const std::int64_t old = r.now_ms() - 3 * kThresholdMs;
  r("SET", "blocking:signal:hx", R"({"timestamp":)" + ms(old) + "}");
  r("HSET", "blocking:ack:hx:s1", "timestamp", ms(r.now_ms()));  // a hash: its age is unknown
  r("SET", "blocking:signal:bx", R"({"timestamp":)" + ms(old) + "}");
  r("SET", "blocking:ack:bx:s1",
    R"({"timestamp":)" + ms(r.now_ms()) + R"(,"pad":")" + std::string(20000, 'x') + "\"}");
  cleanup();
  EXPECT_TRUE(r.exists("blocking:signal:hx"));
  EXPECT_TRUE(r.exists("blocking:signal:bx")) << "a value too large to read may be young";
}

TEST_F(AbsentHostileTest, SecondsAreNotMillisecondsAndAnIdOfDigitsIsNoTimestamp) {
  BlockingClient r(options());
  const std::int64_t now_s = r.now_ms() / 1000;
  r("SET", "blocking:heartbeat:secs",
    R"({"timestamp":)" + std::to_string(now_s) + "}");  // seconds: unreadable
  r("SET", "blocking:signal:secs", "CONTINUE");
  r("SET", "coordinator:activity:secs2", std::to_string(now_s));
  r("SET", "blocking:signal:secs2", "CONTINUE");
  r("SET", "blocking:signal:1700000000000", "CONTINUE");  // an id, not a time
  const auto rep = cleanup();
  EXPECT_TRUE(r.exists("blocking:signal:secs"));
  EXPECT_TRUE(r.exists("blocking:signal:secs2"));
  EXPECT_TRUE(r.exists("blocking:signal:1700000000000")) << "recorded, not deleted";
  EXPECT_EQ(rep.invalid_heartbeats, 2u);
  ASSERT_FALSE(rep.invalid_heartbeat_reasons.empty());
  EXPECT_EQ(rep.invalid_heartbeat_reasons[0].first, "notMilliseconds");
}

TEST_F(AbsentHostileTest, ADryRunTakesNoLockAndAFullRecordStillUpdatesItsOwnFields) {
  BlockingClient r(options());
  r("SET", "swarmkeeper:cleanup:lock", "someone:1:x", "PX", 60000);
  r("SET", "blocking:signal:dry", "CONTINUE");
  CleanupOptions dry;
  dry.dry_run = true;
  auto rep = cleanup(dry);
  EXPECT_FALSE(rep.lock_busy) << "a dry run writes nothing, and needs no lock";
  EXPECT_EQ(rep.absent_recorded, 1u);
  EXPECT_EQ(r("GET", "swarmkeeper:cleanup:lock").str(), "someone:1:x");
  r("DEL", "swarmkeeper:cleanup:lock");
  CleanupOptions one;
  one.max_absent_records = 1;
  rep = cleanup(one);
  EXPECT_EQ(r("HLEN", "swarmkeeper:absent").integer(), 1);
  const std::string first = std::string(r("HGET", "swarmkeeper:absent", "dry").str());
  r("SET", "blocking:signal:dry", "CONTINUE-2");  // its keys changed: its record starts again
  r("SET", "blocking:signal:other", "CONTINUE");
  rep = cleanup(one);
  EXPECT_NE(std::string(r("HGET", "swarmkeeper:absent", "dry").str()), first)
      << "rewritten although the hash is full";
  EXPECT_EQ(rep.absent_not_recorded, 1u) << "other waits for room";
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

// Issue: lock renewal stopped silently and the run went on without its lock. Now a run
// whose lock is taken (or cannot be renewed for its time-to-live) stops at its next safe
// point, says why, and leaves the other holder's lock alone.
TEST_F(AbsentHostileTest, ARunWhoseLockIsTakenStopsAndSaysSo) {
  SeedOptions seed{.coordinators = 30000, .stale = 30000};
  ASSERT_TRUE(seed_scenario(options(), seed));
  CleanupOptions o;
  o.lock_ttl = std::chrono::milliseconds(1500);  // (a sanitized run may stall past 90 % of a shorter one)
  o.threshold = std::chrono::milliseconds(600000);
  o.before_first_delete = [&] {
    BlockingClient w(options());
    EXPECT_EQ(w("SET", "swarmkeeper:cleanup:lock", "another-run:1:x").str(), "OK")
        << "the other run's lock was not written";
  };
  auto r = run_cleanup(options(), o);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_FALSE(r->errors.empty()) << "went on without its lock";
  bool said = false;
  for (const auto& e : r->errors) said = said || e.find("lock") != std::string::npos;
  EXPECT_TRUE(said) << r->errors.front();
  EXPECT_LT(r->keys_deleted, 30000u * 6) << "stopped before the end";
  EXPECT_EQ(BlockingClient(options())("GET", "swarmkeeper:cleanup:lock").str(), "another-run:1:x");
}

}  // namespace
}  // namespace swarmkeeper
