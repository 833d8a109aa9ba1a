// SPDX-License-Identifier: Apache-2.0
// cli_test.cpp — the swarmkeeper binary as an operator runs it: exit codes, the JSON
// report, the log and Prometheus files, the environment, the shipped ACL line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/cli_runner.hpp"
#include "support/redis_fixture.hpp"
#include "swarmkeeper/coord/cleanup.hpp"
#include "swarmkeeper/coord/seed.hpp"

namespace swarmkeeper {
namespace {

namespace fs = std::filesystem;
using swarmkeeper::testing::BlockingClient;

using swarmkeeper::testing::run_cli;
using swarmkeeper::testing::slurp;

class CliTest : public swarmkeeper::testing::CliFixture {};

TEST_F(CliTest, BadFlagsExit64WithAPointerToHelp) {
  for (const char* args :
       {"cleanup --no-such-flag", "cleanup --mode turbo", "cleanup --threshold -5", "", "frobnicate"}) {
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 64) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("--help"), std::string::npos) << r.out;
  }
  auto bad_url = run_cli("cleanup --url 'redis://u:leaky-pw@h:notaport'");
  EXPECT_EQ(bad_url.exit_code, 64);
  EXPECT_EQ(bad_url.out.find("leaky-pw"), std::string::npos) << bad_url.out;
  EXPECT_EQ(run_cli("cleanup --help").exit_code, 0);
}

TEST_F(CliTest, CannotConnectOrAuthenticateExits1) {
  auto refused = run_cli("cleanup --no-log --url redis://127.0.0.1:1");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("connection refused"), std::string::npos) << refused.out;
  auto server = swarmkeeper::testing::start_server({.extra_args = {"--requirepass", "right"}});
  ASSERT_TRUE(server);
  auto wrong =
      run_cli("cleanup --no-log --url redis://:wrong-pw@127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("authentication"), std::string::npos) << wrong.out;
  EXPECT_EQ(wrong.out.find("wrong-pw"), std::string::npos) << "no password in messages: " << wrong.out;
}

TEST_F(CliTest, JsonReportLogAndPrometheusFile) {
  SeedOptions seed{.coordinators = 300, .stale = 200};
  ASSERT_TRUE(seed_scenario(options(), seed));
  const auto log = tmp_ / "cleanup.log", prom = tmp_ / "cleanup.prom";
  auto r = run_cli("cleanup --json --url " + url() + " --log-file " + log.string() + " --prom-file " +
                   prom.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  for (const char* field :
       {"totalCoordinatorsChecked", "staleCoordinatorsFound", "keysDeleted", "executionTimeMs",
        "staleCoordinatorIds", "activeCoordinators", "invalidHeartbeats", "keysScanned", "keysKeptAmbiguous",
        "renewedDuringRun", "orphansDeleted", "coordinatorsPerSec", "mode", "dryRun", "redisBusyMs",
        "version", "revision"})
    EXPECT_TRUE(j.contains(field)) << field;
  EXPECT_EQ(j["version"], SWARMKEEPER_PROJECT_VERSION);
  EXPECT_EQ(j["totalCoordinatorsChecked"], 300);
  EXPECT_EQ(j["staleCoordinatorsFound"], 200);
  EXPECT_EQ(j["keysDeleted"], 1200);
  const std::string log_text = slurp(log);
  EXPECT_NE(log_text.find("] [INFO] Cleanup Summary:"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("Total coordinators checked: 300"), std::string::npos);
  EXPECT_NE(log_text.find("Keys deleted: 1200"), std::string::npos);
  const std::string metrics = slurp(prom);
  EXPECT_NE(metrics.find("swarmkeeper_cleanup_keys_deleted_total 1200"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("swarmkeeper_cleanup_stale_coordinators 200"), std::string::npos);
  EXPECT_NE(metrics.find("swarmkeeper_cleanup_success 1"), std::string::npos);
  EXPECT_NE(metrics.find("swarmkeeper_build_info{version=\"" SWARMKEEPER_PROJECT_VERSION "\",revision=\""),
            std::string::npos)
      << metrics;
  EXPECT_FALSE(fs::exists(prom.string() + ".tmp")) << "written by rename";
  // The counter carries on across runs; a failed run keeps the last success time.
  ASSERT_TRUE(seed_scenario(options(), seed));
  ASSERT_EQ(run_cli("cleanup --no-log --url " + url() + " --prom-file " + prom.string()).exit_code, 0);
  EXPECT_NE(slurp(prom).find("swarmkeeper_cleanup_keys_deleted_total 2400"), std::string::npos)
      << slurp(prom);
  EXPECT_EQ(run_cli("cleanup --no-log --url redis://127.0.0.1:1 --prom-file " + prom.string()).exit_code, 1);
  const std::string after_failure = slurp(prom);
  EXPECT_NE(after_failure.find("swarmkeeper_cleanup_success 0"), std::string::npos);
  EXPECT_NE(after_failure.find("swarmkeeper_cleanup_failures_total 1"), std::string::npos);
  EXPECT_EQ(after_failure.find("swarmkeeper_cleanup_last_success_timestamp_seconds 0\n"), std::string::npos);
}

// One version, from the CMake project: --version and `version --json` say it, with the
// git revision, and exit 0.
TEST(CliVersion, VersionFlagAndSubcommandSayTheProjectVersionAndRevision) {
  auto flag = run_cli("--version");
  EXPECT_EQ(flag.exit_code, 0) << flag.out;
  EXPECT_EQ(flag.out.rfind("swarmkeeper " SWARMKEEPER_PROJECT_VERSION " (revision ", 0), 0u) << flag.out;
  auto j = run_cli("version --json");
  ASSERT_EQ(j.exit_code, 0) << j.out;
  auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["version"], SWARMKEEPER_PROJECT_VERSION);
  EXPECT_FALSE(parsed["revision"].get<std::string>().empty());
  EXPECT_NE(parsed["revision"], "unknown") << "built from a git checkout";
}

// Every flag of cleanup (and serve) can come from SWARMKEEPER_<FLAG>; the command line
// wins; values from the environment are validated like flags; --help names them.
TEST_F(CliTest, EveryFlagCanComeFromTheEnvironmentAndTheCommandLineWins) {
  SeedOptions seed{.coordinators = 100, .stale = 100};  // 660 s old
  ASSERT_TRUE(seed_scenario(options(), seed));
  auto dry =
      run_cli("cleanup --json --no-log --url " + url(), "SWARMKEEPER_DRY_RUN=1 SWARMKEEPER_THRESHOLD=10m");
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  auto j = nlohmann::json::parse(dry.out);
  EXPECT_EQ(j["dryRun"], true);
  EXPECT_EQ(j["staleCoordinatorsFound"], 100);
  auto flag_wins = run_cli("cleanup --json --no-log --threshold 1h --url " + url(),
                           "SWARMKEEPER_THRESHOLD=10m SWARMKEEPER_DRY_RUN=1");
  ASSERT_EQ(flag_wins.exit_code, 0) << flag_wins.out;
  EXPECT_EQ(nlohmann::json::parse(flag_wins.out)["staleCoordinatorsFound"], 0)
      << "--threshold 1h beat the environment's 10m";
  auto bad = run_cli("cleanup --no-log --url " + url(), "SWARMKEEPER_BATCH=0");
  EXPECT_EQ(bad.exit_code, 64) << bad.out;
  EXPECT_NE(bad.out.find("--batch"), std::string::npos) << bad.out;
  // Each command reads only its own: a bad cleanup setting in a shared env file must not
  // stop serve (nor the other way round).
  EXPECT_EQ(run_cli("serve --help", "SWARMKEEPER_BATCH=0").exit_code, 0);
  EXPECT_EQ(run_cli("version", "SWARMKEEPER_BATCH=0 SWARMKEEPER_CENSUS_BUDGET=5%").exit_code, 0);
  auto cleanup_beside_bad_serve =
      run_cli("cleanup --dry-run --no-log --url " + url(), "SWARMKEEPER_CENSUS_BUDGET=5%");
  EXPECT_EQ(cleanup_beside_bad_serve.exit_code, 0) << cleanup_beside_bad_serve.out;
  auto bad_threshold = run_cli("cleanup --no-log --url " + url(), "SWARMKEEPER_THRESHOLD=soon");
  EXPECT_EQ(bad_threshold.exit_code, 64);
  EXPECT_NE(bad_threshold.out.find("SWARMKEEPER_THRESHOLD"), std::string::npos)
      << "names the variable: " << bad_threshold.out;
  for (const char* sub : {"cleanup", "serve"}) {
    auto help = run_cli(std::string(sub) + " --help");
    EXPECT_NE(help.out.find("(Env:SWARMKEEPER_URL)"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("(Env:SWARMKEEPER_LOG_FORMAT)"), std::string::npos) << help.out;
  }
  EXPECT_NE(run_cli("serve --help").out.find("(Env:SWARMKEEPER_LISTEN)"), std::string::npos);
  EXPECT_EQ(BlockingClient(options())("DBSIZE").integer(), 600) << "dry runs only";
}

// --log-format json: one JSON object per line, for log shippers; a run that could not
// start is a line with level error.
TEST_F(CliTest, JsonLogsAreOneObjectPerLine) {
  SeedOptions seed{.coordinators = 50, .stale = 20};
  ASSERT_TRUE(seed_scenario(options(), seed));
  const auto log = tmp_ / "cleanup.jsonl";
  ASSERT_EQ(run_cli("cleanup --log-format json --url " + url() + " --log-file " + log.string()).exit_code, 0);
  EXPECT_EQ(
      run_cli("cleanup --log-format json --url redis://127.0.0.1:1 --log-file " + log.string()).exit_code, 1);
  std::istringstream lines(slurp(log));
  std::vector<nlohmann::json> parsed;
  for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), 2u) << slurp(log);
  EXPECT_EQ(parsed[0]["level"], "info");
  EXPECT_EQ(parsed[0]["report"]["keysDeleted"], 120);
  EXPECT_TRUE(parsed[0]["time"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(parsed[1]["level"], "error");
  EXPECT_FALSE(parsed[1]["error"].get<std::string>().empty());
}

TEST_F(CliTest, ThresholdFromTheEnvironmentAndDryRun) {
  SeedOptions seed;
  seed.coordinators = 100;
  seed.stale = 100;  // 660 s old
  ASSERT_TRUE(seed_scenario(options(), seed));
  auto lenient = run_cli("cleanup --json --no-log --url " + url(), "STALE_THRESHOLD_SECONDS=3600");
  ASSERT_EQ(lenient.exit_code, 0) << lenient.out;
  EXPECT_EQ(nlohmann::json::parse(lenient.out)["staleCoordinatorsFound"], 0);
  auto dry = run_cli("cleanup --json --dry-run --no-log --url " + url());
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_EQ(nlohmann::json::parse(dry.out)["keysDeleted"], 600);
  EXPECT_EQ(BlockingClient(options())("DBSIZE").integer(), 600);
}

TEST_F(CliTest, ASecondRunWhileOneHoldsTheLockExits0AndSaysSo) {
  BlockingClient r(options());
  r("SET", "swarmkeeper:cleanup:lock", "other-run", "PX", 60000);
  auto second = run_cli("cleanup --no-log --url " + url());
  EXPECT_EQ(second.exit_code, 0) << second.out;
  EXPECT_NE(second.out.find("another cleanup is running"), std::string::npos) << second.out;
}

TEST(DeployAcl, TheShippedLeastPrivilegeUserCanRunTheCleanupInScriptMode) {
  std::ifstream in(SWARMKEEPER_SOURCE_DIR "/deploy/redis-acl.conf");
  std::string line, user_line;
  while (std::getline(in, line))
    if (line.rfind("user ", 0) == 0) user_line = line;
  ASSERT_FALSE(user_line.empty());
  std::vector<std::string> rules;
  std::istringstream words(user_line.substr(5));
  std::string name;
  words >> name;
  for (std::string w; words >> w;)
    if (w != "on" && w != ">CHANGE-ME") rules.push_back(w);
  auto acl = swarmkeeper::testing::start_acl_server(name, "test-pw", rules);
  ASSERT_TRUE(acl.server);
  const ConnectionOptions admin = acl.admin, cleaner = acl.user;
  SeedOptions seed{.coordinators = 500, .stale = 400};
  ASSERT_TRUE(seed_scenario(admin, seed));
  CleanupOptions o;
  o.orphans = true;
  auto r = run_cleanup(cleaner, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->errors.empty()) << r->errors[0];
  EXPECT_EQ(r->mode, "script") << (r->notes.empty() ? "" : r->notes[0]);
  EXPECT_TRUE(verify_scenario(admin, seed)->perfect());
  // Absent coordinators: the template family, and the record kept in swarmkeeper:absent.
  BlockingClient a(admin);
  a("SET", "swarm:s1:blocking:acl-dead", R"({"timestamp":1700000000000})");
  a("SET", "blocking:signal:acl-ghost", "CONTINUE");
  r = run_cleanup(cleaner, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->errors.empty()) << r->errors[0];
  EXPECT_FALSE(a.exists("swarm:s1:blocking:acl-dead"));
  EXPECT_EQ(a("HLEN", "swarmkeeper:absent").integer(), 1);
  a("SET", "coordinator:activity:acl-ghost", std::to_string(a.now_ms()));  // alive again: its record goes
  r = run_cleanup(cleaner, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->errors.empty()) << r->errors[0];
  EXPECT_EQ(a("HLEN", "swarmkeeper:absent").integer(), 0);
}

TEST_F(CliTest, ThresholdsAreDurationsAndNoNumberCanWidenThem) {
  SeedOptions seed;
  seed.coordinators = 50;
  seed.stale = 25;  // 660 s old; the rest 60 s old
  ASSERT_TRUE(seed_scenario(options(), seed));
  for (const char* bad : {"nan", "inf", "0", "-1", "1e16", "1e20", "0x10", "abc", "10 m", ""}) {
    for (bool env : {false, true}) {
      if (env && std::string(bad).empty()) continue;  // an empty variable is unset
      const std::string value = std::string("'") + bad + "'";
      auto r = env ? run_cli("cleanup --no-log --url " + url(), "STALE_THRESHOLD_SECONDS=" + value)
                   : run_cli("cleanup --no-log --url " + url() + " --threshold " + value);
      EXPECT_EQ(r.exit_code, 64) << bad << (env ? " (env)" : "") << "\n" << r.out;
      EXPECT_LT(r.out.size(), 300u) << r.out;
      EXPECT_NE(r.out.find(env ? "STALE_THRESHOLD_SECONDS" : "--threshold"), std::string::npos) << r.out;
    }
  }
  EXPECT_EQ(BlockingClient(options())("DBSIZE").integer(), 300) << "nothing deleted by a refused run";
  auto ten_min = run_cli("cleanup --json --dry-run --no-log --url " + url() + " --threshold 10m");
  ASSERT_EQ(ten_min.exit_code, 0) << ten_min.out;
  EXPECT_EQ(nlohmann::json::parse(ten_min.out)["staleCoordinatorsFound"], 25);
  auto ms = run_cli("cleanup --json --dry-run --no-log --url " + url() + " --threshold 30000ms");
  ASSERT_EQ(ms.exit_code, 0) << ms.out;
  EXPECT_EQ(nlohmann::json::parse(ms.out)["staleCoordinatorsFound"], 50);
}

// seed writes test data only where it is told (--url or REDIS_URL), and never beside
// data that is already there unless --force says so.
TEST_F(CliTest, SeedWritesOnlyToANamedEmptyDatabaseUnlessForced) {
  auto nowhere = run_cli("seed --coordinators 10 --stale 5", "env -u REDIS_URL");
  EXPECT_EQ(nowhere.exit_code, 64) << nowhere.out;
  EXPECT_NE(nowhere.out.find("--url or REDIS_URL"), std::string::npos) << nowhere.out;
  BlockingClient redis(options());
  redis("SET", "app:precious", "1");
  auto refused = run_cli("seed --coordinators 10 --stale 5 --url " + url());
  EXPECT_EQ(refused.exit_code, 64) << refused.out;
  EXPECT_NE(refused.out.find("already holds 1 keys"), std::string::npos) << refused.out;
  EXPECT_EQ(redis("DBSIZE").integer(), 1) << "nothing written";
  auto forced = run_cli("seed --force --coordinators 10 --stale 5 --url " + url());
  EXPECT_EQ(forced.exit_code, 0) << forced.out;
  EXPECT_EQ(redis("DBSIZE").integer(), 1 + 60);
  redis("FLUSHALL");
  EXPECT_EQ(run_cli("seed --coordinators 10 --stale 5", "REDIS_URL=" + url()).exit_code, 0)
      << "REDIS_URL names it";
}

TEST_F(CliTest, EveryNumericFlagIsValidated) {
  for (const char* args :
       {"cleanup --max-ids -1", "cleanup --batch 0", "cleanup --batch 100000", "cleanup --scan-count 100000",
        "cleanup --in-flight 0", "cleanup --max-busy nan", "cleanup --max-busy 0", "seed --coordinators -5",
        "seed --coordinators 10 --stale 11", "seed --acks -1", "bench cleanup --sizes 10,-5",
        "demo --coordinators -5", "demo --stale nan", "bench cleanup --peer-cap nan",
        "bench client --seconds nan", "bench client --connections -1", "cleanup --park-mb -1"}) {
    auto r = run_cli(std::string(args) + " --url " + url());
    EXPECT_EQ(r.exit_code, 64) << args << "\n" << r.out;
  }
  EXPECT_EQ(BlockingClient(options())("DBSIZE").integer(), 0) << "no refused command wrote anything";
}

TEST_F(CliTest, ARunTurnedAwayByTheLockIsNotASuccessInThePromFile) {
  const auto prom = tmp_ / "skipped.prom";
  BlockingClient r(options());
  r("SET", "swarmkeeper:cleanup:lock", "other-host:1:x", "PX", 60000);
  ASSERT_EQ(run_cli("cleanup --no-log --url " + url() + " --prom-file " + prom.string()).exit_code, 0);
  const std::string text = slurp(prom);
  EXPECT_NE(text.find("swarmkeeper_cleanup_last_success_timestamp_seconds 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("swarmkeeper_cleanup_skipped_total 1"), std::string::npos) << text;
  auto dev_full = run_cli("cleanup --no-log --url " + url() + " --prom-file /dev/full");
  EXPECT_NE(dev_full.exit_code, -1);
}

TEST_F(CliTest, ALockLeftByADeadRunOnThisHostIsTakenOver) {
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  BlockingClient r(options());
  // A pid that cannot exist (above pid_max).
  r("SET", "swarmkeeper:cleanup:lock", std::string(host) + ":99999999:abc", "PX", 60000);
  auto run = run_cli("cleanup --json --no-log --url " + url());
  ASSERT_EQ(run.exit_code, 0) << run.out;
  auto j = nlohmann::json::parse(run.out);
  EXPECT_FALSE(j["lockBusy"].get<bool>()) << run.out;
  EXPECT_FALSE(r.exists("swarmkeeper:cleanup:lock"));
}

TEST(BenchBlocks, JsonHasTheFieldsAndTheGuaranteesHold) {
  auto r = swarmkeeper::testing::run_cli("bench blocks --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j["percentiles"]["max_rel_error"].get<double>(), 0.01);
  for (const char* k : {"sort", "quickselect", "ours"})
    EXPECT_TRUE(j["percentiles"]["ms_1m"].contains(k)) << k;
  EXPECT_TRUE(j["queue"]["drops_exact"].get<bool>());
  EXPECT_EQ(j["scheduler"]["active_handles_after"], 0);
  const auto& c = j["cache"];
  EXPECT_EQ(c["stale_reads_after_invalidation"], 0);
  EXPECT_EQ(c["trusting"]["stale_reads_after_invalidation"], 0);
  EXPECT_EQ(c["strict"]["reads_after_invalidation"], 10000);
  EXPECT_GT(c["invalidation_ms_p50"].get<double>(), 0);
  EXPECT_GE(c["invalidation_ms_max"].get<double>(), c["invalidation_ms_p50"].get<double>());
  EXPECT_GT(c["l1_hit_ns"].get<double>(), 0);
  EXPECT_GT(c["hit_rate"]["slru_with_scans"].get<double>(), c["hit_rate"]["lru_with_scans"].get<double>());
}

TEST(BenchBlocks, ABadUrlIsRefusedWith64) {
  auto r = swarmkeeper::testing::run_cli("bench blocks --url http://nowhere");
  EXPECT_EQ(r.exit_code, 64) << r.out;
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

// inspect on the orchestrator's layout: every shape found and claimed, what a cleanup
// would do now, and a suggested schema that loads; bad input exits 64, no server 1.
TEST_F(CliTest, InspectExplainsTheOrchestratorsLayoutAndSuggestsASchema) {
  ASSERT_EQ(
      run_cli("seed --force --layout orchestrator --coordinators 300 --stale 100 --url " + url()).exit_code,
      0);
  auto run = run_cli("inspect --json --url " + url());
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["keysSeen"], j["keysInDatabase"]);
  std::map<std::string, nlohmann::json> shapes;
  for (const auto& s : j["shapes"]) shapes[s["shape"].get<std::string>()] = s;
  ASSERT_TRUE(shapes.count("swarm:*:blocking:*")) << run.out;
  EXPECT_EQ(shapes["swarm:*:blocking:*"]["claimedBy"], "swarm");
  EXPECT_EQ(shapes["swarm:*:blocking:*"]["keys"], 300);
  EXPECT_TRUE(shapes["swarm:state:*"]["claimedBy"].is_null());
  EXPECT_EQ(shapes["blocking:heartbeat:*"]["keys"], 200);
  EXPECT_GT(shapes["blocking:heartbeat:*"]["withTtl"].get<int>(), 0);
  EXPECT_EQ(shapes["blocking:heartbeat:*"]["millisecondFields"], nlohmann::json::array({"lastHeartbeat"}));
  EXPECT_EQ(j["cleanupNow"]["absent"], 100);
  EXPECT_EQ(j["cleanupNow"]["active"], 200);
  EXPECT_EQ(j["cleanupNow"]["keysToDelete"], 500) << "5 keys of each dead coordinator";
  EXPECT_GT(BlockingClient(options())("DBSIZE").integer(), 1000) << "inspect deletes nothing";
  auto schema = run_cli("inspect --suggest-schema --url " + url());
  ASSERT_EQ(schema.exit_code, 0) << schema.out;
  const auto file = (tmp_ / "schema.json").string();
  std::ofstream(file) << schema.out;
  auto loaded = load_key_schema(file);
  ASSERT_TRUE(loaded) << loaded.error().message() << "\n" << schema.out;
  EXPECT_EQ(run_cli("inspect --schema " + file + " --no-dry-run --url " + url()).exit_code, 0);
  for (const char* bad :
       {"--max-busy nan", "--max-busy 0", "--threshold 0", "--max-keys -1", "--threshold junk"})
    EXPECT_EQ(run_cli(std::string("inspect ") + bad + " --url " + url()).exit_code, 64) << bad;
  EXPECT_EQ(run_cli("inspect --url redis://127.0.0.1:1").exit_code, 1);
}

}  // namespace
}  // namespace swarmkeeper
