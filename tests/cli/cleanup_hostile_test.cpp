// SPDX-License-Identifier: Apache-2.0
// cleanup_hostile_test.cpp — the cleanup as a hostile user and a hostile environment
// would try it: signals mid-run, a replica, a full server, huge heartbeats, bad schema
// files, bad log paths, a waiting run, a killed connection. Each names what broke before.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/cli_runner.hpp"
#include "swarmkeeper/coord/cleanup.hpp"
#include "swarmkeeper/coord/seed.hpp"

namespace swarmkeeper {
namespace {

namespace fs = std::filesystem;
using swarmkeeper::testing::BlockingClient;
using swarmkeeper::testing::run_cli;
using swarmkeeper::testing::slurp;

class HostileTest : public swarmkeeper::testing::CliFixture {};

TEST_F(HostileTest, SigtermMidRunReleasesTheLockAndRecordsTheFailure) {
  for (int sig : {SIGTERM, SIGHUP}) {
    SeedOptions seed{.coordinators = 100000, .stale = 100000};
    ASSERT_TRUE(seed_scenario(options(), seed));
    const auto log = tmp_ / "c.log", prom = tmp_ / "c.prom", out = tmp_ / "out.json";
    const pid_t pid = swarmkeeper::testing::spawn_cli(
        {"cleanup", "--json", "--url", url(), "--log-file", log.string(), "--prom-file", prom.string()},
        out.string());
    BlockingClient r(options());
    for (int i = 0; i < 500 && !r.exists("swarmkeeper:cleanup:lock"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    ::kill(pid, sig);
    const int code = swarmkeeper::testing::wait_cli(pid);
    EXPECT_EQ(code, 2) << slurp(out);
    EXPECT_FALSE(r.exists("swarmkeeper:cleanup:lock")) << "released on the way out";
    EXPECT_NE(slurp(out).find("interrupted"), std::string::npos) << slurp(out);
    EXPECT_NE(slurp(log).find("[ERROR]"), std::string::npos) << slurp(log);
    EXPECT_NE(slurp(prom).find("swarmkeeper_cleanup_success 0"), std::string::npos) << slurp(prom);
    // The next run finishes the job.
    ASSERT_EQ(run_cli("cleanup --no-log --url " + url()).exit_code, 0);
    EXPECT_TRUE(verify_scenario(options(), seed)->perfect());
    r("FLUSHALL");
  }
}

TEST_F(HostileTest, AReplicaIsRefusedWithExit2AndSaysPointAtThePrimary) {
  auto replica = swarmkeeper::testing::start_server(
      {.extra_args = {"--replicaof", "127.0.0.1", std::to_string(server_->port())}});
  ASSERT_TRUE(replica);
  auto r = run_cli("cleanup --no-log --url redis://127.0.0.1:" + std::to_string(replica->port()));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("primary"), std::string::npos) << r.out;
}

TEST_F(HostileTest, AFullServerIsCleanedAnyway) {
  SeedOptions seed{.coordinators = 2000, .stale = 1500};
  ASSERT_TRUE(seed_scenario(options(), seed));
  BlockingClient r(options());
  const std::string info(r("INFO", "memory").str());
  const auto at = info.find("used_memory:") + 12;
  const auto used = std::stoll(info.substr(at, info.find('\r', at) - at));
  r("CONFIG", "SET", "maxmemory-policy", "noeviction");
  r("CONFIG", "SET", "maxmemory", std::to_string(used));
  auto run = run_cli("cleanup --json --no-log --url " + url());
  r("CONFIG", "SET", "maxmemory", "0");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("out of memory"), std::string::npos) << run.out;
  auto check = verify_scenario(options(), seed);
  EXPECT_EQ(check->stale_keys_left, 0u);
  EXPECT_EQ(check->active_keys_present, check->active_keys_total);
}

TEST_F(HostileTest, HugeLiveHeartbeatsAreNeverReadWholeAndTheirKeysStay) {
  BlockingClient r(options());
  const std::string pad(10 << 20, 'x');
  for (int i = 0; i < 3; ++i) {
    const std::string id = "big-" + std::to_string(i);
    r("SET", "blocking:heartbeat:" + id,
      R"({"timestamp":)" + std::to_string(r.now_ms()) + R"(,"pad":")" + pad + "\"}");
    r("SET", "blocking:signal:" + id, "x");
  }
  CleanupOptions o;
  auto rep = run_cleanup(options(), o);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->invalid_heartbeats, 3u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(r.exists("blocking:signal:big-" + std::to_string(i)));
}

TEST_F(HostileTest, SchemaFilesWithUnknownFieldsOrWrongTypesAreRefusedByName) {
  struct Case {
    const char* json;
    const char* names;
  };
  for (const Case& c : {Case{"[]", "expected an object"}, Case{"{}", "expected an object"},
                        Case{R"({"heartbeat": {"prefx": "a:"}})", "prefx"},
                        Case{R"({"heartbeat": {"prefix": 5}})", "heartbeat.prefix"},
                        Case{R"({"families": [{"prefix": "x:", "match": 1}]})", "families[0].match"},
                        Case{R"({"families": {}})", "families"}, Case{R"({"famlies": []})", "famlies"},
                        // From a hostile test: a second object after the first was silently dropped.
                        Case{R"({"heartbeat": {"prefix": "a:"}} {"families": []})", "not valid JSON"},
                        Case{R"({"heartbeat": {"prefix": "a:"}} garbage)", "not valid JSON"},
                        Case{R"({"families": [{"template": "swarm:{id}:x"}]})", "template"},
                        Case{R"({"families": [{"template": "swarm:{*}{*}:{id}"}]})", "template"},
                        Case{R"({"families": [{"prefix": "a:", "template": "b:{id}"}]})", "not both"},
                        Case{R"({"families": [{"template": "x:{*}:{id}", "liveness": true}]})", "liveness"},
                        Case{R"({"heartbeat": {"fields": []}})", "heartbeat.fields"},
                        Case{R"({"heartbeat": {"format": "hours"}})", "heartbeat.format"}}) {
    const auto path = tmp_ / "schema.json";
    std::ofstream(path) << c.json;
    auto r = run_cli("cleanup --no-log --url " + url() + " --schema " + path.string());
    EXPECT_EQ(r.exit_code, 64) << c.json << "\n" << r.out;
    EXPECT_NE(r.out.find(c.names), std::string::npos) << c.json << "\n" << r.out;
  }
}

TEST_F(HostileTest, ALogFileInAMissingDirectoryIsAUsageErrorAndNothingIsCreated) {
  const auto dir = tmp_ / "no" / "such";
  auto r = run_cli("cleanup --url " + url() + " --log-file " + (dir / "c.log").string());
  EXPECT_EQ(r.exit_code, 64) << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "no"));
}

TEST_F(HostileTest, AFailedConnectIsInTheLogFile) {
  const auto log = tmp_ / "c.log";
  auto r = run_cli("cleanup --url redis://127.0.0.1:1 --log-file " + log.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(slurp(log).find("[ERROR]"), std::string::npos) << slurp(log);
}

TEST_F(HostileTest, WaitingForTheLockIsNotCountedAsRunTime) {
  BlockingClient r(options());
  r("SET", "swarmkeeper:cleanup:lock", "elsewhere:1:x", "PX", 1500);
  const auto t0 = std::chrono::steady_clock::now();
  auto run = run_cli("cleanup --json --wait --no-log --url " + url());
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_GE(waited, std::chrono::milliseconds(1400));
  EXPECT_LT(nlohmann::json::parse(run.out)["executionTimeMs"].get<int>(), 1000);
}

TEST_F(HostileTest, DryRunAndRealRunSeeTheSameOrphans) {
  BlockingClient r(options());
  for (int i = 0; i < 11; ++i) {
    r("SET", "blocking:ack:ghost-" + std::to_string(i) + ":a", "1");
    r("SET", "blocking:idempotency:ghost-" + std::to_string(i) + ":init", "1");
  }
  auto dry = nlohmann::json::parse(run_cli("cleanup --json --dry-run --no-log --url " + url()).out);
  auto real = nlohmann::json::parse(run_cli("cleanup --json --no-log --url " + url()).out);
  for (auto* j : {&dry, &real}) {
    EXPECT_EQ((*j)["absentCoordinatorsFound"], 11) << "each ghost's ack names it";
    EXPECT_EQ((*j)["absentRecorded"], 11) << "values without a timestamp: recorded, not deleted";
    EXPECT_EQ((*j)["keysDeleted"], 0);
  }
}

TEST_F(HostileTest, AKilledConnectionReportsWhatWasConfirmedAndSaysItIsALowerBound) {
  SeedOptions seed{.coordinators = 20000, .stale = 20000};
  ASSERT_TRUE(seed_scenario(options(), seed));
  const auto before = BlockingClient(options())("DBSIZE").integer();
  CleanupOptions o;
  o.lock_ttl = std::chrono::milliseconds(2000);  // (a sanitized run may stall past 90 % of a shorter one)
  std::thread killer([&] {
    BlockingClient k(options());
    for (int i = 0; i < 2000 && k("DBSIZE").integer() > before - 3000; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    k("CLIENT", "KILL", "USER", "default", "SKIPME", "yes");
  });
  auto rep = run_cleanup(options(), o);
  killer.join();
  ASSERT_TRUE(rep);
  BlockingClient after(options());
  // The dead run's lock may still be there (it expires): it is not a seeded key.
  const auto gone = static_cast<std::uint64_t>(before - after("DBSIZE").integer() +
                                               after("EXISTS", "swarmkeeper:cleanup:lock").integer());
  EXPECT_GT(gone, 0u) << "killed mid-delete";
  EXPECT_LE(rep->keys_deleted, gone);
  if (rep->keys_deleted < gone) {
    EXPECT_TRUE(rep->keys_deleted_lower_bound) << rep->keys_deleted << " < " << gone;
  }
  EXPECT_FALSE(rep->errors.empty());
  EXPECT_FALSE(after.exists("swarmkeeper:cleanup:lock")) << "released on a new connection";
}

class HostileKeysTest : public swarmkeeper::testing::CliFixture {};

TEST_F(HostileKeysTest, AnAckKeyWithThousandsOfSeparatorsIsKeptAndStopsNothing) {
  SeedOptions seed{.coordinators = 300, .stale = 200};
  ASSERT_TRUE(seed_scenario(options(), seed));
  BlockingClient r(options());
  r("SET", "blocking:heartbeat:::", R"({"timestamp":1000})");  // the id "::", stale
  const std::string hostile = "blocking:ack:" + std::string(12000, ':') + "x";
  r("SET", hostile, "1");
  for (const char* recheck : {"auto", "transaction"}) {
    auto run = run_cli(std::string("cleanup --json --no-log --recheck ") + recheck + " --url " + url());
    ASSERT_EQ(run.exit_code, 0) << recheck << "\n" << run.out.substr(0, 400);
    EXPECT_TRUE(r.exists(hostile)) << "too many ways to read it: kept";
    EXPECT_TRUE(verify_scenario(options(), seed)->perfect()) << recheck;
    ASSERT_TRUE(seed_scenario(options(), seed));
  }
}

TEST_F(HostileKeysTest, OverlappingFamilyPrefixesAreRefused) {
  const auto path = tmp_ / "overlap.json";
  std::ofstream(path) << R"({"families":[{"name":"signal","prefix":"blocking:signal:","match":"exact"},
                                          {"name":"urgent","prefix":"blocking:signal:urgent:","match":"exact"}]})";
  BlockingClient r(options());
  r("SET", "blocking:heartbeat:urgent:x", R"({"timestamp":1000})");
  r("SET", "blocking:heartbeat:x", R"({"timestamp":)" + std::to_string(r.now_ms()) + "}");
  r("SET", "blocking:signal:urgent:x", "v");
  auto run = run_cli("cleanup --no-log --url " + url() + " --schema " + path.string());
  EXPECT_EQ(run.exit_code, 64) << run.out;
  EXPECT_NE(run.out.find("overlap"), std::string::npos) << run.out;
  EXPECT_TRUE(r.exists("blocking:signal:urgent:x"));
}

TEST_F(HostileKeysTest, NoFlagCanAskForNonAtomicDeletes) {
  auto run = run_cli("cleanup --no-log --recheck reread --url " + url());
  EXPECT_EQ(run.exit_code, 64) << run.out;
}

TEST_F(HostileKeysTest, AnUnwritablePromFileIsAUsageErrorBeforeAnythingIsDeleted) {
  SeedOptions seed{.coordinators = 20, .stale = 10};
  ASSERT_TRUE(seed_scenario(options(), seed));
  for (const std::string& path : {(tmp_ / "no" / "such" / "p.prom").string(), tmp_.string()}) {
    auto run = run_cli("cleanup --no-log --url " + url() + " --prom-file " + path);
    EXPECT_EQ(run.exit_code, 64) << path << "\n" << run.out;
  }
  EXPECT_EQ(BlockingClient(options())("DBSIZE").integer(), 120);
}

TEST(HostileServer, ScriptsAndTransactionsBothRefusedFallBackLoudlyAndCountTheWindow) {
  auto acl = swarmkeeper::testing::start_acl_server("cleaner", "pw",
                                                    {"~*", "+@all", "-@scripting", "-@transaction"});
  ASSERT_TRUE(acl.server);
  SeedOptions seed{.coordinators = 1000, .stale = 900};
  ASSERT_TRUE(seed_scenario(acl.admin, seed));
  auto rep = run_cleanup(acl.user, {});
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->recheck, "reread-before-unlink");
  std::string notes;
  for (const auto& n : rep->notes) notes += n + "\n";
  EXPECT_NE(notes.find("NOT atomic"), std::string::npos) << notes;
  EXPECT_NE(notes.find("longest window"), std::string::npos) << notes;
  EXPECT_TRUE(verify_scenario(acl.admin, seed)->perfect());
}

}  // namespace
}  // namespace swarmkeeper
