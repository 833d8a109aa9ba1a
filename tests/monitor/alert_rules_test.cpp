// SPDX-License-Identifier: Apache-2.0
// alert_rules_test.cpp — the alert state machine (pending → firing → resolved, for and
// keep_firing_for) and the rules file's checks.
#include "swarmkeeper/monitor/alert_rules.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace swarmkeeper::monitor {
namespace {

using namespace std::chrono_literals;

AlertRule rule(std::chrono::milliseconds for_d = 0ms, std::chrono::milliseconds keep = 0ms) {
  return AlertRule{"R", "x", AlertRule::Op::gt, 10, for_d, keep, "warning", "x above 10"};
}

TEST(AlertEngine, PendingThenFiringAfterForThenResolved) {
  AlertEngine e({rule(3000ms)});
  EXPECT_TRUE(e.evaluate({{"x", 5}}, 0).empty());
  EXPECT_EQ(e.alerts()[0].state, AlertState::inactive);
  EXPECT_TRUE(e.evaluate({{"x", 11}}, 1000).empty());
  EXPECT_EQ(e.alerts()[0].state, AlertState::pending);
  EXPECT_TRUE(e.evaluate({{"x", 12}}, 3999).empty());
  auto fired = e.evaluate({{"x", 12}}, 4000);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].to, AlertState::firing);
  EXPECT_EQ(fired[0].alert.active_at_ms, 1000);
  EXPECT_EQ(fired[0].alert.fired_at_ms, 4000);
  EXPECT_TRUE(e.evaluate({{"x", 50}}, 5000).empty()) << "firing fires once";
  auto resolved = e.evaluate({{"x", 1}}, 6000);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].to, AlertState::resolved);
  EXPECT_EQ(e.alerts()[0].resolved_at_ms, 6000);
  EXPECT_TRUE(e.evaluate({{"x", 1}}, 7000).empty());
  EXPECT_EQ(e.alerts()[0].state, AlertState::inactive);
}

TEST(AlertEngine, APendingAlertThatStopsHoldingNeverFires) {
  AlertEngine e({rule(3000ms)});
  e.evaluate({{"x", 11}}, 0);
  e.evaluate({{"x", 9}}, 1000);
  EXPECT_EQ(e.alerts()[0].state, AlertState::inactive);
  e.evaluate({{"x", 11}}, 2000);
  EXPECT_TRUE(e.evaluate({{"x", 11}}, 4000).empty()) << "the for-clock restarted at 2000";
  EXPECT_EQ(e.evaluate({{"x", 11}}, 5000).size(), 1u);
}

TEST(AlertEngine, KeepFiringForHoldsThroughAShortDip) {
  AlertEngine e({rule(0ms, 2000ms)});
  ASSERT_EQ(e.evaluate({{"x", 11}}, 0).size(), 1u) << "for 0 fires at once";
  EXPECT_TRUE(e.evaluate({{"x", 1}}, 1000).empty());
  EXPECT_EQ(e.alerts()[0].state, AlertState::firing);
  EXPECT_TRUE(e.evaluate({{"x", 11}}, 1500).empty());
  EXPECT_TRUE(e.evaluate({{"x", 1}}, 3000).empty());
  EXPECT_EQ(e.evaluate({{"x", 1}}, 3500).size(), 1u) << "2 s after the last time it held";
}

TEST(AlertEngine, AnAbsentOrNaNSeriesDoesNotHold) {
  AlertEngine e({rule()});
  EXPECT_TRUE(e.evaluate({}, 0).empty());
  EXPECT_TRUE(e.evaluate({{"x", std::nan("")}}, 1).empty());
  ASSERT_EQ(e.evaluate({{"x", 11}}, 2).size(), 1u);
  ASSERT_EQ(e.evaluate({}, 3).size(), 1u) << "a vanished series resolves the alert";
}

TEST(AlertRulesFile, AGoodFileParses) {
  auto r =
      parse_alert_rules(R"({"rules":[{"name":"A","series":"s{l=\"v\"}","op":">=","threshold":1.5,"for":"30s",
                                 "keep_firing_for":"1m","severity":"critical","summary":"sum"},
                                {"name":"B","series":"t","threshold":0,"op":"<","for":0}]})",
                        "f");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].op, AlertRule::Op::ge);
  EXPECT_EQ((*r)[0].for_duration, 30000ms);
  EXPECT_EQ((*r)[0].keep_firing_for, 60000ms);
  EXPECT_EQ((*r)[1].op, AlertRule::Op::lt);
  EXPECT_EQ((*r)[1].for_duration, 0ms);
}

TEST(AlertRulesFile, BadFilesAreRefusedNamingTheRuleAndField) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "not valid JSON"},
      {R"({"rule":[]})", "expected"},
      {R"({"rules":[{"series":"s","threshold":1}]})", "name"},
      {R"({"rules":[{"name":"A","threshold":1}]})", "series"},
      {R"({"rules":[{"name":"A","series":"s"}]})", "threshold"},
      {R"({"rules":[{"name":"A","series":"s","threshold":"1"}]})", "threshold"},
      {R"({"rules":[{"name":"A","series":"s","threshold":1,"op":"=="}]})", "op"},
      {R"({"rules":[{"name":"A","series":"s","threshold":1,"for":"-1s"}]})", "for"},
      {R"({"rules":[{"name":"A","series":"s","threshold":1,"for":"nan"}]})", "for"},
      {R"({"rules":[{"name":"A","series":"s","threshold":1,"for":"1e9h"}]})", "for"},
      {R"({"rules":[{"name":"A","series":"s","threshold":1,"severity":3}]})", "severity"},
      {R"({"rules":[{"name":"A","series":"s","threshold":1,"colour":"red"}]})", "colour"},
      {R"({"rules":[{"name":"A","series":"s","threshold":1},{"name":"A","series":"t","threshold":2}]})",
       "already"},
  };
  for (const auto& [text, word] : bad) {
    auto r = parse_alert_rules(text, "rules.json");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message().find(word), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("rules.json"), std::string::npos);
  }
}

TEST(AlertRules, TheBuiltInRulesAreTheReferenceOnesAndOurs) {
  auto rules = default_alert_rules();
  auto find = [&](const std::string& n) {
    for (const auto& r : rules)
      if (r.name == n) return &r;
    return static_cast<const AlertRule*>(nullptr);
  };
  ASSERT_TRUE(find("RedisProbeLatencyHigh"));
  EXPECT_DOUBLE_EQ(find("RedisProbeLatencyHigh")->threshold, 0.1);
  ASSERT_TRUE(find("RedisErrorRateHigh"));
  EXPECT_DOUBLE_EQ(find("RedisErrorRateHigh")->threshold, 0.02);
  EXPECT_TRUE(find("CleanupNotSucceeding"));
  EXPECT_TRUE(find("ActiveHandlesHigh"));
}

// deploy/alert-rules.json documents the built-in rules: it must say what the code does.
TEST(AlertRulesFile, TheDeployExampleIsTheBuiltInRules) {
  auto file = load_alert_rules(SWARMKEEPER_SOURCE_DIR "/deploy/alert-rules.json");
  ASSERT_TRUE(file) << file.error().message();
  const auto builtin = default_alert_rules();
  ASSERT_EQ(file->size(), builtin.size());
  for (std::size_t i = 0; i < builtin.size(); ++i) {
    EXPECT_EQ((*file)[i].name, builtin[i].name);
    EXPECT_EQ((*file)[i].series, builtin[i].series) << builtin[i].name;
    EXPECT_EQ((*file)[i].op, builtin[i].op) << builtin[i].name;
    EXPECT_DOUBLE_EQ((*file)[i].threshold, builtin[i].threshold) << builtin[i].name;
    EXPECT_EQ((*file)[i].for_duration, builtin[i].for_duration) << builtin[i].name;
    EXPECT_EQ((*file)[i].severity, builtin[i].severity) << builtin[i].name;
    EXPECT_EQ((*file)[i].summary, builtin[i].summary) << builtin[i].name;
  }
}

}  // namespace
}  // namespace swarmkeeper::monitor
