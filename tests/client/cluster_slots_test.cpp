// SPDX-License-Identifier: Apache-2.0
// cluster_slots_test.cpp — the key-to-slot rule (the values Redis documents) and the
// CLUSTER SLOTS map, from made-up replies.
#include "swarmkeeper/client/cluster_slots.hpp"

#include <gtest/gtest.h>

#include "swarmkeeper/client/cluster_client.hpp"
#include "swarmkeeper/resp/parser.hpp"

namespace swarmkeeper {
namespace {

TEST(KeySlot, MatchesTheValuesRedisDocuments) {
  EXPECT_EQ(key_slot("123456789"), 0x31C3 & 16383);  // the CRC16 check value
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(KeySlot, HashTagsAsTheServerReadsThem) {
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}") << "an empty first tag: the whole key";
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(hash_tag("no-close{tag"), "no-close{tag");
  EXPECT_EQ(key_slot("blocking:heartbeat:{c1}"), key_slot("blocking:signal:{c1}"));
}

resp::Reply parse(const std::string& wire) {
  resp::Parser p;
  const bool complete = p.feed(wire) == resp::Parser::Status::complete;
  EXPECT_TRUE(complete) << wire;
  return complete ? resp::Reply(p.view(wire)) : resp::Reply();
}

TEST(SlotMap, ParsesRangesAndNamesEachMasterOnce) {
  // Two masters; the first serves two ranges; one replica listed after a master.
  const std::string wire =
      "*3\r\n"
      "*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$"
      "2\r\nr1\r\n"
      "*3\r\n:5461\r\n:10922\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$3\r\nid2\r\n"
      "*3\r\n:10923\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n";
  auto r = parse(wire);
  auto map = SlotMap::from_cluster_slots(r.root());
  ASSERT_TRUE(map) << map.error().message();
  EXPECT_EQ(map->masters().size(), 2u);
  EXPECT_EQ(map->covered(), 16384u);
  EXPECT_EQ(map->node_for(0)->port, 7000);
  EXPECT_EQ(map->node_for(5461)->port, 7001);
  EXPECT_EQ(map->node_for(16383)->port, 7000);
  EXPECT_EQ(map->node_for(16384), nullptr);
}

TEST(SlotMap, AnUnknownEndpointIsTheNodeThatAnswered) {
  auto r = parse("*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n_\r\n:7000\r\n$2\r\nid\r\n");
  auto map = SlotMap::from_cluster_slots(r.root(), "10.1.2.3");
  ASSERT_TRUE(map) << map.error().message();
  EXPECT_EQ(map->node_for(0)->host, "10.1.2.3");
}

TEST(SlotMap, RefusesMalformedReplies) {
  for (const std::string& wire : {
           std::string("+OK\r\n"),
           std::string("*1\r\n*2\r\n:0\r\n:10\r\n"),
           std::string("*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n"),
           std::string("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:70000\r\n"),
       }) {
    auto r = parse(wire);
    EXPECT_FALSE(SlotMap::from_cluster_slots(r.root())) << wire;
  }
  auto empty = parse("*0\r\n");
  auto m = SlotMap::from_cluster_slots(empty.root());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->covered(), 0u);
  EXPECT_EQ(m->node_for(5), nullptr);
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

TEST(CommandKeys, EachShapeGivesItsKeys) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(command_keys(resp::Command("GET").arg("a")), V{"a"});
  EXPECT_EQ(command_keys(resp::Command("get").arg("a")), V{"a"}) << "case-insensitive";
  EXPECT_EQ(command_keys(resp::Command("MGET").arg("a").arg("b")), (V{"a", "b"}));
  EXPECT_EQ(command_keys(resp::Command("MSET").arg("a").arg("1").arg("b").arg("2")), (V{"a", "b"}));
  EXPECT_EQ(command_keys(resp::Command("EVALSHA").arg("sha").arg(2).arg("k1").arg("k2").arg("argv")),
            (V{"k1", "k2"}));
  EXPECT_EQ(command_keys(resp::Command("EVAL").arg("s").arg(0).arg("argv")), V{});
  EXPECT_EQ(command_keys(resp::Command("EVAL").arg("s").arg("junk").arg("k")), V{})
      << "a bad numkeys routes nowhere";
  EXPECT_EQ(command_keys(resp::Command("OBJECT").arg("IDLETIME").arg("k")), V{"k"});
  EXPECT_EQ(
      command_keys(
          resp::Command("XREAD").arg("COUNT").arg(1).arg("STREAMS").arg("s1").arg("s2").arg("0").arg("0")),
      (V{"s1", "s2"}));
  for (const char* keyless : {"PING", "INFO", "SCAN", "CLUSTER", "DBSIZE"})
    EXPECT_FALSE(command_routing_key(resp::Command(keyless).arg("x"))) << keyless;
  EXPECT_EQ(command_routing_key(resp::Command("UNLINK").arg("a").arg("b")),
            std::optional<std::string_view>("a"));
}

}  // namespace
}  // namespace swarmkeeper
