// cluster_test.cpp — the local cluster fixture and the slot rule against a real
// 3-master cluster: it comes up ready, CLUSTER SLOTS maps every slot, and key_slot()
// agrees with CLUSTER KEYSLOT on every key tried (hash tags, binary, empty tags).
#include <gtest/gtest.h>

#include <random>

#include "support/redis_fixture.hpp"
#include "swarmkeeper/cluster_slots.hpp"

namespace swarmkeeper {
namespace {

using swarmkeeper::testing::BlockingClient;

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = RedisCluster::start(3);
    if (!c) {
      failure_ = c.error().message();
      return;
    }
    cluster_ = std::move(*c);
  }
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override { ASSERT_TRUE(cluster_) << "the test cluster did not start: " << failure_; }
  static ConnectionOptions node(std::size_t i) {
    ConnectionOptions o;
    o.port = cluster_->nodes()[i]->port();
    return o;
  }
  static std::unique_ptr<RedisCluster> cluster_;
  static std::string failure_;
};
std::unique_ptr<RedisCluster> ClusterTest::cluster_;
std::string ClusterTest::failure_;

TEST_F(ClusterTest, EveryNodeMapsEverySlotToOneOfThreeMasters) {
  ASSERT_EQ(cluster_->nodes().size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BlockingClient c(node(i));
    auto reply = c("CLUSTER", "SLOTS");
    auto map = SlotMap::from_cluster_slots(reply.root());
    ASSERT_TRUE(map) << map.error().message();
    EXPECT_EQ(map->covered(), 16384u);
    EXPECT_EQ(map->masters().size(), 3u);
    for (const auto& m : map->masters()) EXPECT_FALSE(m.id.empty());
  }
}

TEST_F(ClusterTest, KeySlotAgreesWithTheServer) {
  BlockingClient c(node(0));
  std::mt19937 rng(7);
  std::vector<std::string> keys = {"", "{", "}", "{}", "{}x", "x{}", "{a}", "a{b}c{d}", "{{}}", "blocking:heartbeat:{c-1}",
                                   "blocking:ack:c-1:task-9", std::string("\0\xff{\x01}", 5)};
  for (int i = 0; i < 500; ++i) {
    std::string k;
    const int n = static_cast<int>(rng() % 24);
    for (int j = 0; j < n; ++j) k.push_back("ab{}:\xff\x00z"[rng() % 8]);
    keys.push_back(k);
  }
  for (const auto& k : keys) EXPECT_EQ(key_slot(k), c("CLUSTER", "KEYSLOT", k).integer()) << "key of " << k.size() << " bytes";
}

TEST_F(ClusterTest, AKeyIsServedByTheMasterTheMapNames) {
  BlockingClient first(node(0));
  auto reply = first("CLUSTER", "SLOTS");
  auto map = SlotMap::from_cluster_slots(reply.root());
  ASSERT_TRUE(map);
  for (const char* key : {"alpha", "beta", "gamma", "{tag}x"}) {
    const ClusterNode* owner = map->node_for(key_slot(key));
    ASSERT_NE(owner, nullptr);
    ConnectionOptions o;
    o.port = owner->port;
    BlockingClient c(o);
    EXPECT_EQ(c("SET", key, "v").str(), "OK") << key << " on its own master";
  }
}

}  // namespace
}  // namespace swarmkeeper
