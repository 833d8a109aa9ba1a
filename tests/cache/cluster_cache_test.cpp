// SPDX-License-Identifier: Apache-2.0
// cluster_cache_test.cpp — the two-tier cache on a real 3-master cluster, opened from a
// plain URL to one node: a write on any master invalidates L1, clear_all empties every
// master, and after a failover the cache tracks the promoted replica.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "support/redis_fixture.hpp"
#include "swarmkeeper/cache/two_tier_cache.hpp"
#include "swarmkeeper/client/cluster_slots.hpp"
#include "swarmkeeper/client/router.hpp"
#include "swarmkeeper/net/connection_options.hpp"

namespace swarmkeeper::cache {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmkeeper::testing::BlockingClient;
using swarmkeeper::testing::run;

// Runs `io` until pred holds or `limit` passes.
template <class Pred>
bool eventually(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 2000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(1ms);
  }
  return true;
}

// The port of the master that serves `key`, as node `at` sees the map now.
std::uint16_t owner_port(const ConnectionOptions& at, const std::string& key) {
  BlockingClient c(at);
  auto map = SlotMap::from_cluster_slots(c("CLUSTER", "SLOTS").root());
  if (!map || !map->node_for(key_slot(key))) return 0;
  return map->node_for(key_slot(key))->port;
}

ConnectionOptions at_port(std::uint16_t port) {
  ConnectionOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  return o;
}

struct Opened {
  std::unique_ptr<Router> router;
  std::unique_ptr<TwoTierCache> cache;
};

Opened open_on(asio::io_context& io, std::uint16_t port, const std::string& prefix) {
  ClientOptions co;
  co.connection = *parse_redis_url("redis://127.0.0.1:" + std::to_string(port));
  co.connection.client_name = "cluster-cache-test";
  co.acquire_timeout = 500ms;
  Opened out;
  auto router = run(io, open_router(io.get_executor(), co));
  if (!router) {
    ADD_FAILURE() << router.error().message();
    return out;
  }
  out.router = std::move(*router);
  CacheOptions o;
  o.prefix = prefix;
  o.tracking_ping = 200ms;
  auto cache = run(io, TwoTierCache::open(*out.router, o));
  if (!cache) {
    ADD_FAILURE() << cache.error().message();
    return out;
  }
  out.cache = std::move(*cache);
  return out;
}

class ClusterCacheTest : public swarmkeeper::testing::RedisClusterTest {};

TEST_F(ClusterCacheTest, AWriteOnAnyMasterInvalidatesL1AndClearAllEmptiesEveryMaster) {
  Opened opened = open_on(io_, cluster_->nodes()[2]->port(), "cc:");  // (no structured binding: Clang 14
  auto& router = opened.router;                                       //  cannot capture one)
  auto& cache = opened.cache;
  ASSERT_TRUE(cache);
  // One key on each master.
  std::map<std::uint16_t, std::string> key_of;
  for (int i = 0; key_of.size() < 3 && i < 1000; ++i) {
    const std::string k = "user:" + std::to_string(i);
    key_of.emplace(owner_port(node(0), "cc:" + k), k);
  }
  ASSERT_EQ(key_of.size(), 3u);
  for (const auto& [port, key] : key_of) {
    const std::string& k = key;
    ASSERT_TRUE(run(io_, cache->set(k, "v1-" + k)));
    ASSERT_TRUE(eventually(io_, [&] {
      auto v = run(io_, cache->get(k));
      return v && *v == "v1-" + k && cache->peek(k) == "v1-" + k;  // loaded, and in L1
    })) << k;
  }
  const auto hits = cache->stats().hits;
  for (const auto& [port, k] : key_of) EXPECT_EQ(*run(io_, cache->get(k)), "v1-" + k);
  EXPECT_EQ(cache->stats().hits, hits + 3) << "each master's key served from L1";
  EXPECT_TRUE(cache->stats().tracking_up);
  EXPECT_FALSE(cache->stats().sentinel_checks) << "a cluster has no SWAPDB: no sentinel";

  // Another client writes each key on its own master: each invalidation arrives.
  for (const auto& [port, key] : key_of) {
    const std::string& k = key;
    BlockingClient(at_port(port))("SET", "cc:" + k, "v2-" + k);
    ASSERT_TRUE(eventually(io_, [&] { return !cache->peek(k); })) << "no invalidation from master " << port;
    EXPECT_EQ(*run(io_, cache->get(k)), "v2-" + k);
  }

  auto cleared = run(io_, cache->clear_all());
  ASSERT_TRUE(cleared) << cleared.error().message();
  EXPECT_EQ(cleared->deleted, 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BlockingClient c(node(i));
    EXPECT_EQ(c("KEYS", "cc:*").size(), 0u) << "node " << i;
  }
  cache.reset();
  router->close();
}

// A master killed, its replica promoted: tracking goes down (L1 flushed, bypassed), comes
// back on the promoted master, and a write there invalidates L1.
TEST(ClusterCacheFailover, TheCacheTracksAPromotedReplica) {
  auto cluster = RedisCluster::start(3, 1);
  ASSERT_TRUE(cluster) << cluster.error().message();
  asio::io_context io;
  Opened opened = open_on(io, (*cluster)->nodes()[0]->port(), "fc:");
  auto& router = opened.router;
  auto& cache = opened.cache;
  ASSERT_TRUE(cache);
  const std::uint16_t victim = (*cluster)->nodes()[1]->port();
  const ConnectionOptions seed = at_port((*cluster)->nodes()[0]->port());
  std::string key;
  for (int i = 0; key.empty(); ++i)
    if (owner_port(seed, "fc:k" + std::to_string(i)) == victim) key = "k" + std::to_string(i);
  ASSERT_TRUE(run(io, cache->set(key, "before")));
  ASSERT_TRUE(eventually(io, [&] { return run(io, cache->get(key)) && cache->peek(key) == "before"; }));
  BlockingClient(at_port(victim))("WAIT", "1", "2000");  // the replica has it

  (*cluster)->nodes()[1]->stop();
  ASSERT_TRUE(eventually(
      io, [&] { return !cache->stats().tracking_up; }, 5000ms));
  EXPECT_EQ(cache->peek(key), std::nullopt) << "L1 is not trusted while a master is untracked";
  ASSERT_TRUE(eventually(
      io, [&] { return cache->stats().tracking_up; }, 60000ms))
      << "tracking never came back after the promotion";
  const std::uint16_t promoted = owner_port(seed, "fc:" + key);
  ASSERT_NE(promoted, victim);
  ASSERT_TRUE(eventually(
      io, [&] { return run(io, cache->get(key)) && cache->peek(key) == "before"; }, 10000ms));
  BlockingClient(at_port(promoted))("SET", "fc:" + key, "after");
  ASSERT_TRUE(eventually(io, [&] { return !cache->peek(key); }))
      << "no invalidation from the promoted master";
  EXPECT_EQ(*run(io, cache->get(key)), "after");
  cache.reset();
  router->close();
}

}  // namespace
}  // namespace swarmkeeper::cache
