// SPDX-License-Identifier: Apache-2.0
// glob_test.cpp — Redis glob matching and escaping.
#include "swarmkeeper/client/glob.hpp"

#include <gtest/gtest.h>

namespace swarmkeeper {
namespace {

TEST(Glob, MatchesAsRedisDoes) {
  EXPECT_TRUE(glob_match("bull:*:id", "bull:emails:id"));
  EXPECT_TRUE(glob_match("bull:*:id", "bull::id"));
  EXPECT_FALSE(glob_match("bull:*:id", "bull:emails:ids"));
  EXPECT_TRUE(glob_match("h?llo", "hello"));
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-c]llo", "hbllo"));
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("**a", "ba"));
}

TEST(Glob, AnEscapedLiteralMatchesItselfAndNothingElse) {
  const std::string literal = "c*[x]?:\\";
  EXPECT_TRUE(glob_match(glob_escape(literal) + "*", literal + "tail"));
  EXPECT_FALSE(glob_match(glob_escape(literal) + "*", "cx:tail"));
}

}  // namespace
}  // namespace swarmkeeper
