// SPDX-License-Identifier: Apache-2.0
// heartbeat_rule_test.cpp — the one staleness rule, value by value (heartbeat_values.hpp).
#include <gtest/gtest.h>

#include "coord/heartbeat_values.hpp"

namespace swarmkeeper {
namespace {

TEST(HeartbeatRule, EveryValueOfTheTableGetsItsVerdict) {
  const std::int64_t now = 1'800'000'000'000, threshold = 600'000;
  for (const auto& c : testing::heartbeat_cases()) {
    const std::string v = testing::fill(c.value, now - threshold - 1000, now - 1000);
    EXPECT_EQ(static_cast<int>(judge_heartbeat(v, KeySchema{}, now, threshold)), static_cast<int>(c.verdict))
        << c.name;
  }
}

TEST(HeartbeatRule, StaleIsStrictlyOlderThanTheThresholdToTheMillisecond) {
  const KeySchema s;
  const std::int64_t now = 1'800'000'000'000;
  auto at = [&](std::int64_t age) { return R"({"timestamp":)" + std::to_string(now - age) + "}"; };
  EXPECT_EQ(judge_heartbeat(at(500), s, now, 500), HeartbeatState::active);
  EXPECT_EQ(judge_heartbeat(at(501), s, now, 500), HeartbeatState::stale);
  EXPECT_EQ(judge_heartbeat(at(0), s, now, 1), HeartbeatState::active);
}

TEST(HeartbeatRule, IntegerFormatsAcceptOnlyPlainDigits) {
  KeySchema ms;
  ms.heartbeat_format = HeartbeatFormat::integer_ms;
  KeySchema sec;
  sec.heartbeat_format = HeartbeatFormat::integer_s;
  EXPECT_EQ(parse_heartbeat("1700000000123", ms), 1700000000123);
  EXPECT_EQ(parse_heartbeat("1700000000", sec), 1700000000000);
  for (const char* bad : {" 12 ", "0x1A", "1e3", "-5", "0", "", "12.5", "99999999999999999999"}) {
    EXPECT_FALSE(parse_heartbeat(bad, ms)) << bad;
    EXPECT_FALSE(parse_heartbeat(bad, sec)) << bad;
  }
  EXPECT_FALSE(parse_heartbeat("9223372036854776", sec)) << "overflows when made ms";
  EXPECT_EQ(parse_heartbeat("9223372036854775", sec), 9223372036854775000) << "the largest that fits";
}

}  // namespace
}  // namespace swarmkeeper
