// SPDX-License-Identifier: Apache-2.0
// coordinator_table_test.cpp — ownership by structure: ids that are globs, prefixes of
// one another, contain separators, spaces or UTF-8.
#include "coord/coordinator_table.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace swarmkeeper::coord {
namespace {

const KeyFamily& family(const KeySchema& s, const std::string& name) {
  for (const auto& f : s.families)
    if (f.name == name) return f;
  throw std::runtime_error("no family " + name);
}

class Ownership : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"coord-1", "coord-10", "a", "a:b", "glob*?[x]", "with space", "ünï-çødé"})
      idx_[id] = table_.add(id, 1, CoordState::stale);
  }
  Attribution resolve_key(const std::string& key, const std::string& fam) {
    keys_.push_back(key);  // the attribution's views point into it
    Attribution a;
    std::vector<std::string_view> candidates;
    attribute(keys_.back(), family(schema_, fam), table_, candidates, a);
    return a;
  }
  std::deque<std::string> keys_;
  KeySchema schema_;
  CoordinatorTable table_;
  std::map<std::string, std::uint32_t> idx_;
};

TEST_F(Ownership, ExactFamilyMatchesTheWholeSuffixOnly) {
  auto a = resolve_key("blocking:signal:coord-1", "signal");
  ASSERT_EQ(a.kind, Attribution::remove);
  EXPECT_EQ(a.owners, std::vector<std::uint32_t>{idx_["coord-1"]});
  EXPECT_EQ(resolve_key("blocking:signal:coord-10", "signal").owners,
            std::vector<std::uint32_t>{idx_["coord-10"]});
  EXPECT_EQ(resolve_key("blocking:signal:glob*?[x]", "signal").owners,
            std::vector<std::uint32_t>{idx_["glob*?[x]"]});
  EXPECT_EQ(resolve_key("coordinator:activity:with space", "activity").owners,
            std::vector<std::uint32_t>{idx_["with space"]});
  EXPECT_EQ(resolve_key("blocking:signal:coord-", "signal").kind, Attribution::orphan);
  EXPECT_EQ(resolve_key("blocking:signal:glob", "signal").kind, Attribution::orphan);
}

TEST_F(Ownership, IdPrefixNeverLetsAPrefixIdClaimAnothersKey) {
  // "coord-1" is a prefix of "coord-10": the split is at the separator, not the prefix.
  EXPECT_EQ(resolve_key("blocking:ack:coord-10:agent-1", "ack").owners,
            std::vector<std::uint32_t>{idx_["coord-10"]});
  EXPECT_EQ(resolve_key("blocking:ack:coord-1:agent-1", "ack").owners,
            std::vector<std::uint32_t>{idx_["coord-1"]});
  EXPECT_EQ(resolve_key("blocking:ack:ünï-çødé:agent", "ack").owners,
            std::vector<std::uint32_t>{idx_["ünï-çødé"]});
  EXPECT_EQ(resolve_key("blocking:ack:glob*?[x]:a:b", "ack").owners,
            std::vector<std::uint32_t>{idx_["glob*?[x]"]});
}

TEST_F(Ownership, IdPrefixWithTwoPossibleOwnersIsAmbiguous) {
  // "a" and "a:b" are both coordinators: blocking:ack:a:b:x could be either's.
  auto amb = resolve_key("blocking:ack:a:b:x", "ack");
  EXPECT_EQ(amb.kind, Attribution::ambiguous);
  auto only_a = resolve_key("blocking:ack:a:c:x", "ack");
  ASSERT_EQ(only_a.kind, Attribution::remove);
  EXPECT_EQ(only_a.owners, std::vector<std::uint32_t>{idx_["a"]});
  EXPECT_EQ(resolve_key("blocking:ack:nobody:agent", "ack").kind, Attribution::orphan);
}

TEST_F(Ownership, MentionsNamesEveryKnownCoordinatorAtTokenBoundaries) {
  auto both = resolve_key("blocking:idempotency:coord-1:coord-10:nonce", "idempotency");
  ASSERT_EQ(both.kind, Attribution::remove);
  EXPECT_EQ(both.owners, (std::vector<std::uint32_t>{idx_["coord-1"], idx_["coord-10"]}));
  auto one = resolve_key("blocking:idempotency:coord-10:init", "idempotency");
  EXPECT_EQ(one.owners, std::vector<std::uint32_t>{idx_["coord-10"]});
  // A substring inside a token names nobody.
  EXPECT_EQ(resolve_key("blocking:idempotency:xcoord-1y:init", "idempotency").kind, Attribution::orphan);
  // A colon inside an id: "a:b" is a run of two tokens.
  auto colon = resolve_key("blocking:idempotency:a:b:n", "idempotency");
  EXPECT_NE(std::find(colon.owners.begin(), colon.owners.end(), idx_["a:b"]), colon.owners.end());
}

TEST_F(Ownership, LiveOrUnreadableCandidatesKeepAKeyAndUnknownOnesMustStayAbsent) {
  idx_["alive"] = table_.add("alive", 1, CoordState::active);
  idx_["broken"] = table_.add("broken", 0, CoordState::invalid);
  EXPECT_EQ(resolve_key("blocking:idempotency:coord-1:alive:n", "idempotency").kind, Attribution::keep_alive);
  EXPECT_EQ(resolve_key("blocking:signal:broken", "signal").kind, Attribution::keep_alive);
  auto a = resolve_key("blocking:idempotency:coord-1:init", "idempotency");
  ASSERT_EQ(a.kind, Attribution::remove);
  EXPECT_EQ(a.absent, (std::vector<std::string_view>{"coord-1:init", "init"}));
  EXPECT_EQ(resolve_key("blocking:ack::x", "ack").kind, Attribution::orphan) << "an empty id names nobody";
  EXPECT_EQ(resolve_key("blocking:ack:" + std::string(40, ':') + "x", "ack").kind, Attribution::ambiguous)
      << "too many ways to read it";
}

TEST(KeySchemaTest, HeartbeatParsingAndGlobEscaping) {
  KeySchema s;
  EXPECT_EQ(parse_heartbeat(R"({"coordinatorId":"x","timestamp":1700000000123,"seq":1})", s), 1700000000123);
  EXPECT_EQ(parse_heartbeat(R"({"timestamp":"1700000000123"})", s), 1700000000123);
  EXPECT_EQ(parse_heartbeat(R"({"timestamp":1.7e12})", s), 1700000000000);
  EXPECT_FALSE(parse_heartbeat("not json", s));
  EXPECT_FALSE(parse_heartbeat(R"({"timestamp":"soon"})", s));
  EXPECT_FALSE(parse_heartbeat(R"({"other":1})", s));
  EXPECT_FALSE(parse_heartbeat(R"([1,2])", s));
  s.heartbeat_format = HeartbeatFormat::integer_s;
  EXPECT_EQ(parse_heartbeat("1700000000", s), 1700000000000);
  EXPECT_FALSE(parse_heartbeat("17e8", s));
  EXPECT_EQ(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
  EXPECT_EQ(KeySchema().common_prefix(), "");
}

}  // namespace
}  // namespace swarmkeeper::coord
