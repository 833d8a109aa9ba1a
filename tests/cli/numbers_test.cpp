// SPDX-License-Identifier: Apache-2.0
// numbers_test.cpp — durations and counts as operators type them.
#include "resp/numbers.hpp"

#include <gtest/gtest.h>

namespace swarmkeeper::cli {
namespace {

TEST(Durations, UnitsAndBareSecondsExactToTheMillisecond) {
  EXPECT_EQ(parse_duration_ms("600"), 600000);
  EXPECT_EQ(parse_duration_ms("600s"), 600000);
  EXPECT_EQ(parse_duration_ms("10m"), 600000);
  EXPECT_EQ(parse_duration_ms("1500ms"), 1500);
  EXPECT_EQ(parse_duration_ms("0.5"), 500);
  EXPECT_EQ(parse_duration_ms("1h"), 3600000);
  EXPECT_EQ(parse_duration_ms("0.001"), 1);
}

TEST(Durations, EverythingElseIsRefused) {
  for (const char* bad : {"nan",        "NaN",
                          "inf",        "-inf",
                          "infinity",   "0",
                          "0s",         "0.0",
                          "-1",         "-600",
                          "1e16",       "1e20",
                          "0x10",       "abc",
                          "",           " 600",
                          "600 ",       "10 m",
                          "10min",      "1.5.2",
                          ".5",         "5.",
                          "0.0001",     "31d",
                          "2000000000", "99999999999999999999999999"})
    EXPECT_FALSE(parse_duration_ms(bad)) << bad;
}

TEST(Counts, RangeAndDigitsOnly) {
  EXPECT_EQ(parse_count("500", 10, 5000), 500u);
  for (const char* bad : {"-5", "-1", "5000000", "1e3", "0x10", "", " 5", "nan", "9"})
    EXPECT_FALSE(parse_count(bad, 10, 5000)) << bad;
  EXPECT_EQ(parse_decimal("20", 0.1, 100), 20.0);
  for (const char* bad : {"nan", "inf", "-5", "0", "101", "1e2", "abc"})
    EXPECT_FALSE(parse_decimal(bad, 0.1, 100)) << bad;
}

}  // namespace
}  // namespace swarmkeeper::cli
