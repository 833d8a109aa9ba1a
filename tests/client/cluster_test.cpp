// SPDX-License-Identifier: Apache-2.0
// cluster_test.cpp — the local cluster fixture and the slot rule against a real
// 3-master cluster: it comes up ready, CLUSTER SLOTS maps every slot, and key_slot()
// agrees with CLUSTER KEYSLOT on every key tried (hash tags, binary, empty tags).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "client/on_executor.hpp"
#include "support/cli_runner.hpp"
#include "support/redis_fixture.hpp"
#include "swarmkeeper/client/cluster_client.hpp"
#include "swarmkeeper/client/cluster_slots.hpp"

namespace swarmkeeper {
namespace {

namespace asio = boost::asio;

using swarmkeeper::testing::BlockingClient;
using swarmkeeper::testing::run;

class ClusterTest : public swarmkeeper::testing::RedisClusterTest {
 protected:
  ClusterOptions cluster_options() {
    ClusterOptions o;
    o.seeds = {{"127.0.0.1", cluster_->nodes()[0]->port()}};
    o.node.min_connections = 1;
    return o;
  }
  // The node (index) that serves `slot` now, and every node's id.
  std::size_t owner_of(std::uint16_t slot) {
    BlockingClient c(node(0));
    auto reply = c("CLUSTER", "SLOTS");
    auto map = SlotMap::from_cluster_slots(reply.root());
    for (std::size_t i = 0; i < cluster_->nodes().size(); ++i)
      if (map && map->node_for(slot) && map->node_for(slot)->port == cluster_->nodes()[i]->port()) return i;
    return 0;
  }
  std::string id_of(std::size_t i) {
    BlockingClient c(node(i));
    return std::string(c("CLUSTER", "MYID").str());
  }
};

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
  std::vector<std::string> keys = {"",
                                   "{",
                                   "}",
                                   "{}",
                                   "{}x",
                                   "x{}",
                                   "{a}",
                                   "a{b}c{d}",
                                   "{{}}",
                                   "blocking:heartbeat:{c-1}",
                                   "blocking:ack:c-1:task-9",
                                   std::string("\0\xff{\x01}", 5)};
  for (int i = 0; i < 500; ++i) {
    std::string k;
    const int n = static_cast<int>(rng() % 24);
    for (int j = 0; j < n; ++j) k.push_back("ab{}:\xff\x00z"[rng() % 8]);
    keys.push_back(k);
  }
  for (const auto& k : keys)
    EXPECT_EQ(key_slot(k), c("CLUSTER", "KEYSLOT", k).integer()) << "key of " << k.size() << " bytes";
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

TEST_F(ClusterTest, SeedWritesTheScenarioAcrossTheCluster) {
  for (std::size_t i = 0; i < 3; ++i) BlockingClient(node(i))("FLUSHALL");
  const std::string url = "redis+cluster://127.0.0.1:" + std::to_string(cluster_->nodes()[0]->port()) +
                          ",127.0.0.1:" + std::to_string(cluster_->nodes()[1]->port());
  auto seeded =
      swarmkeeper::testing::run_cli("seed --force --url " + url + " --coordinators 10000 --stale 9900");
  ASSERT_EQ(seeded.exit_code, 0) << seeded.out;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto n = BlockingClient(node(i))("DBSIZE").integer();
    EXPECT_GT(n, 15000) << "every master holds a share";
    total += n;
  }
  EXPECT_EQ(total, 60000);
  ClusterClient c(io_.get_executor(), cluster_options());
  auto hb = run(io_, c.get("blocking:heartbeat:test-coordinator-active-1"));
  ASSERT_TRUE(hb && *hb) << (hb ? "absent" : hb.error().message());
  EXPECT_NE(hb->value().find("\"timestamp\":"), std::string::npos);
  c.close();
}

// A plain URL naming one node benchmarks the cluster, as cleanup, seed and serve take it
// (it failed with MOVED).
TEST_F(ClusterTest, BenchClientTakesAPlainUrlToAClusterNode) {
  const std::string url = "redis://127.0.0.1:" + std::to_string(cluster_->nodes()[1]->port());
  auto r = swarmkeeper::testing::run_cli("bench client --url " + url + " --seconds 0.5 --concurrency 4");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"client\":\"swarmkeeper-cluster\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"masters\":3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"errors\":0"), std::string::npos) << r.out;
}

// inspect with a plain URL to one node: every master scanned, each sample read on its
// key's master (none fails with MOVED), and the dry run on the whole cluster.
TEST_F(ClusterTest, InspectTakesAPlainUrlToAClusterNode) {
  for (std::size_t i = 0; i < 3; ++i) BlockingClient(node(i))("FLUSHALL");
  const std::string url = "redis://127.0.0.1:" + std::to_string(cluster_->nodes()[2]->port());
  ASSERT_EQ(swarmkeeper::testing::run_cli("seed --force --url " + url + " --coordinators 300 --stale 100")
                .exit_code,
            0);
  auto r = swarmkeeper::testing::run_cli("inspect --json --url " + url);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"nodes\":3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"keysInDatabase\":1800"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("MOVED"), std::string::npos) << r.out;
}

// SyncClient with a plain URL to one node works on the whole cluster: keys of every
// master set and read back (none fails with MOVED), and async() is a router on it.
TEST_F(ClusterTest, SyncClientTakesAPlainUrlToAClusterNode) {
  ClientOptions o;
  o.connection = *parse_redis_url("redis://127.0.0.1:" + std::to_string(cluster_->nodes()[1]->port()));
  SyncClient c(o);
  std::set<std::size_t> owners;
  for (int i = 0; i < 60; ++i) {
    const std::string k = "sync:" + std::to_string(i);
    ASSERT_TRUE(c.set(k, "v" + std::to_string(i))) << k;
    auto v = c.get(k);
    ASSERT_TRUE(v) << v.error().message();
    ASSERT_TRUE(*v);
    EXPECT_EQ(**v, "v" + std::to_string(i));
    owners.insert(owner_of(key_slot(k)));
  }
  EXPECT_EQ(owners.size(), 3u) << "the keys span every master";
  auto incr = c.command(resp::Command("INCR").arg("sync:{n}"));
  ASSERT_TRUE(incr) << incr.error().message();
  EXPECT_EQ(incr->integer(), 1);
  auto router = c.async();
  ASSERT_TRUE(router) << router.error().message();
  auto masters =
      client_detail::start_on((*router)->executor(),
                              [](Router* r) -> asio::awaitable<std::size_t> {
                                co_return r->masters().size();  // (the slot map lives on its executor)
                              }(*router))
          .get();
  EXPECT_EQ(masters, 3u);
  EXPECT_FALSE(c.metrics().commands.empty());
}

// A master killed, its replica promoted: commands for its slots fail (typed, bounded in
// time) until the promotion, then the client finds the new master on its own.
TEST(ClusterFailover, TheClientFollowsAPromotedReplica) {
  auto cluster = RedisCluster::start(3, 1);
  ASSERT_TRUE(cluster) << cluster.error().message();
  asio::io_context io;
  ClusterOptions o;
  o.seeds = {{"127.0.0.1", (*cluster)->nodes()[0]->port()}};
  o.node.min_connections = 1;
  o.node.acquire_timeout = std::chrono::milliseconds(500);
  ClusterClient c(io.get_executor(), o);
  ASSERT_TRUE(run(io, c.connect()));
  // A key served by the master we will kill (not the seed).
  const std::uint16_t victim_port = (*cluster)->nodes()[1]->port();
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string k = "fo-" + std::to_string(i);
    if (c.slots().node_for(key_slot(k))->port == victim_port) key = k;
  }
  ASSERT_TRUE(run(io, c.set(key, "before")));
  BlockingClient(ConnectionOptions{.port = victim_port})("WAIT", "1", "2000");  // the replica has it
  (*cluster)->nodes()[1]->stop();
  const auto t0 = std::chrono::steady_clock::now();
  int failures = 0;
  std::optional<std::string> got;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30)) {
    const auto a = std::chrono::steady_clock::now();
    auto v = run(io, c.get(key));
    EXPECT_LT(std::chrono::steady_clock::now() - a, std::chrono::seconds(10))
        << "a failing command is bounded in time";
    if (v && *v) {
      got = **v;
      break;
    }
    ++failures;
    if (!v) {
      EXPECT_NE(v.error().code(), Errc::ok);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(got) << "the client never reached the promoted replica";
  EXPECT_EQ(*got, "before");
  std::cout << "failover: served again after "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s, "
            << failures << " failed reads\n";
  ASSERT_TRUE(run(io, c.set(key, "after")));
  c.close();
}

TEST_F(ClusterTest, CommandsAndMultiKeyCommandsWorkAcrossSlots) {
  ClusterClient c(io_.get_executor(), cluster_options());
  ASSERT_TRUE(run(io_, c.connect()));
  EXPECT_EQ(c.slots().covered(), 16384u);
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("k" + std::to_string(i));
  for (const auto& k : keys) ASSERT_TRUE(run(io_, c.set(k, "v-" + k)));
  std::string big(5000, 'x');  // compressed like any Client value
  ASSERT_TRUE(run(io_, c.set("big", big)));
  EXPECT_EQ(run(io_, c.get("big")).value(), big);
  {  // Compression off: values come back as stored, as Client gives them (this decoded always).
    ClusterOptions o = cluster_options();
    o.node.compression = false;
    ClusterClient plain(io_.get_executor(), o);
    ASSERT_TRUE(run(io_, plain.connect()));
    auto stored = run(io_, plain.get("big"));
    ASSERT_TRUE(stored && *stored);
    EXPECT_LT((*stored)->size(), big.size()) << "decoded though compression is off";
    auto many = run(io_, plain.mget({"big"}));
    ASSERT_TRUE(many);
    EXPECT_EQ((*many)[0], **stored);
    plain.close();
  }
  auto values = run(io_, c.mget(keys));
  ASSERT_TRUE(values) << values.error().message();
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*values)[i], "v-" + keys[i]);
  EXPECT_EQ(run(io_, c.exists(keys)).value(), 300);
  std::int64_t total = 0;
  for (auto& r : run(io_, c.for_each_master(resp::Command("DBSIZE")))) {
    ASSERT_TRUE(r);
    total += r->integer();
  }
  EXPECT_GE(total, 301);
  EXPECT_EQ(run(io_, c.unlink(keys)).value(), 300);
  EXPECT_EQ(run(io_, c.exists(keys)).value(), 0);
  auto cross = run(io_, c.command(resp::Command("MSET").arg("a").arg("1").arg("b").arg("2"), "a"));
  ASSERT_FALSE(cross);
  EXPECT_NE(cross.error().message().find("CROSSSLOT"), std::string::npos) << cross.error().message();
  c.close();
}

// Regression: an error reply that merely mentions TRYAGAIN made a non-idempotent
// command run again (up to 6 times).
TEST_F(ClusterTest, OnlyTheErrorCodeDecidesARetry) {
  ClusterClient c(io_.get_executor(), cluster_options());
  ASSERT_TRUE(run(io_, c.connect()));
  const char* script =
      "redis.call('INCR', KEYS[1]); return redis.error_reply('ERR backend busy, TRYAGAIN later')";
  auto r = run(io_, c.command(resp::Command("EVAL").arg(script).arg(1).arg("ctr-retry"), "ctr-retry", false));
  EXPECT_FALSE(r);
  auto n = run(io_, c.get("ctr-retry"));
  ASSERT_TRUE(n && *n);
  EXPECT_EQ(**n, "1") << "the script ran once";
  c.close();
}

// A user whose ACL forbids INFO: the node is still found to be a cluster node (CLUSTER
// INFO answers), and the cleanup runs on the whole cluster.
TEST_F(ClusterTest, TheCleanupFindsAClusterNodeEvenWithoutInfo) {
  for (std::size_t i = 0; i < 3; ++i) {
    BlockingClient(node(i))("FLUSHALL");
    BlockingClient(node(i))("ACL", "SETUSER", "noinfo", "on", ">pw", "~*", "&*", "+@all", "-info");
  }
  ClusterClient admin(io_.get_executor(), cluster_options());
  ASSERT_TRUE(run(io_, admin.set("blocking:heartbeat:{old}", "{\"timestamp\":1600000000000}")));
  ASSERT_TRUE(run(io_, admin.set("blocking:signal:{old}", "STOP")));
  admin.close();
  auto r = swarmkeeper::testing::run_cli("cleanup --no-log --json --url redis://noinfo:pw@127.0.0.1:" +
                                         std::to_string(cluster_->nodes()[2]->port()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"clusterMasters\":3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"keysDeleted\":2"), std::string::npos) << r.out;
  for (std::size_t i = 0; i < 3; ++i) BlockingClient(node(i))("ACL", "DELUSER", "noinfo");
}

// MOVED and ASK, made deterministic by migrating one slot by hand.
TEST_F(ClusterTest, MovedAndAskAreFollowed) {
  ClusterClient c(io_.get_executor(), cluster_options());
  ASSERT_TRUE(run(io_, c.connect()));
  const std::string key = "migrating-key";
  const std::uint16_t slot = key_slot(key);
  ASSERT_TRUE(run(io_, c.set(key, "here")));
  const std::size_t from = owner_of(slot), to = (from + 1) % 3;
  const std::string from_id = id_of(from), to_id = id_of(to);
  BlockingClient src(node(from)), dst(node(to));
  // ASK: the slot is migrating and the key already moved.
  dst("CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from_id);
  src("CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to_id);
  src("MIGRATE", "127.0.0.1", std::to_string(cluster_->nodes()[to]->port()), "", "0", "5000", "KEYS", key);
  auto during = run(io_, c.get(key));
  ASSERT_TRUE(during) << during.error().message();
  EXPECT_EQ(*during, "here");
  EXPECT_GE(c.asked(), 1u);
  // MOVED: the migration ends; the client's map still names the old node.
  for (std::size_t i = 0; i < 3; ++i)
    BlockingClient(node(i))("CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id);
  const auto refreshes = c.refreshes();
  auto after = run(io_, c.get(key));
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(*after, "here");
  EXPECT_GE(c.moved(), 1u);
  EXPECT_GT(c.refreshes(), refreshes);
  ASSERT_TRUE(run(io_, c.set(key, "again")));
  EXPECT_EQ(dst("GET", key).str(), "again") << "written on the new owner";
  c.close();
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

// 1,000 slots move between masters (redis-cli --cluster reshard) while 64 callers write
// and read back their own keys across all slots: no command is lost, no reply is wrong.
TEST(ClusterReshard, SixtyFourCallersThroughAThousandSlotReshardLoseNothing) {
  auto cluster = RedisCluster::start(3);
  ASSERT_TRUE(cluster) << cluster.error().message();
  asio::io_context io;
  ClusterOptions o;
  o.seeds = {{"127.0.0.1", (*cluster)->nodes()[0]->port()}};
  o.node.min_connections = 1;
  ClusterClient c(io.get_executor(), o);
  ASSERT_TRUE(run(io, c.connect()));
  auto id = [&](std::size_t i) {
    ConnectionOptions n;
    n.port = (*cluster)->nodes()[i]->port();
    return std::string(BlockingClient(n)("CLUSTER", "MYID").str());
  };
  const std::string cmd =
      "redis-cli --cluster reshard 127.0.0.1:" + std::to_string((*cluster)->nodes()[0]->port()) +
      " --cluster-from " + id(0) + " --cluster-to " + id(1) +
      " --cluster-slots 1000 --cluster-yes >/dev/null 2>&1";
  std::atomic<bool> resharded{false};
  std::atomic<int> rc{-1};
  std::uint64_t ops = 0, failures = 0;
  std::string first_failure;
  int running = 64;
  bool started = false;
  std::thread reshard;
  for (int i = 0; i < 64; ++i)
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          for (int j = 0; !resharded || j < 200; ++j) {
            const std::string k =
                "r:" + std::to_string(i) + ":" + std::to_string(j % 97);  // spread over all slots
            const std::string v = std::to_string(i) + "/" + std::to_string(j);
            auto w = co_await c.set(k, v);
            auto r = co_await c.get(k);
            ops += 2;
            if (!w || !r || !*r || **r != v) {
              ++failures;
              if (first_failure.empty())
                first_failure = !w ? w.error().message() : !r ? r.error().message() : "wrong value for " + k;
            }
            if (j == 50 && !started) {  // traffic is flowing: start moving slots
              started = true;
              reshard = std::thread([&] {
                rc = std::system(cmd.c_str());
                resharded = true;
              });
            }
          }
          --running;
        },
        asio::detached);
  while (running > 0) io.run_one();
  if (reshard.joinable()) reshard.join();
  EXPECT_EQ(rc.load(), 0) << "the reshard failed";
  EXPECT_EQ(failures, 0u) << failures << " of " << ops << " commands failed; first: " << first_failure;
  EXPECT_GT(c.moved() + c.asked(), 0u) << "the client met redirections during the reshard";
  // The slots did move: node 1 now serves 1,000 more.
  ConnectionOptions n;
  n.port = (*cluster)->nodes()[0]->port();
  auto map = SlotMap::from_cluster_slots(BlockingClient(n)("CLUSTER", "SLOTS").root());
  ASSERT_TRUE(map);
  std::size_t on_1 = 0;
  for (std::uint16_t s = 0; s < kClusterSlots; ++s)
    on_1 += map->node_for(s)->port == (*cluster)->nodes()[1]->port();
  EXPECT_GE(on_1, 5461u + 1000u);
  c.close();
  std::printf("reshard under load: %llu commands, %llu MOVED, %llu ASK\n",
              static_cast<unsigned long long>(ops), static_cast<unsigned long long>(c.moved()),
              static_cast<unsigned long long>(c.asked()));
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

// Pipelines span nodes and come back in order; scripts and transactions must keep to
// one slot and say so before anything is sent.
TEST_F(ClusterTest, PipelinesSpanNodesAndScriptsAndTransactionsKeepToOneSlot) {
  ClusterClient c(io_.get_executor(), cluster_options());
  ASSERT_TRUE(run(io_, c.connect()));
  std::vector<resp::Command> cmds;
  for (int i = 0; i < 300; ++i) cmds.push_back(resp::Command("SET").arg("p:" + std::to_string(i)).arg(i));
  for (int i = 0; i < 300; ++i) cmds.push_back(resp::Command("GET").arg("p:" + std::to_string(i)));
  cmds.push_back(resp::Command("INCR").arg("p:0:text"));
  cmds.push_back(resp::Command("LPUSH").arg("p:0:text").arg("x"));  // WRONGTYPE: an error reply in place
  auto r = run(io_, c.pipeline(cmds));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 602u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ((*r)[300 + static_cast<std::size_t>(i)].str(), std::to_string(i));
  EXPECT_EQ((*r)[600].integer(), 1);
  EXPECT_TRUE((*r)[601].is_error());
  EXPECT_TRUE((*r)[601].str().starts_with("WRONGTYPE")) << (*r)[601].str();
  // A keyless command cannot be routed.
  auto keyless = run(io_, c.pipeline({resp::Command("PING")}));
  ASSERT_FALSE(keyless);
  EXPECT_EQ(keyless.error().code(), Errc::invalid_argument);

  // Scripts: one slot runs; two slots fail here, before the server sees anything.
  auto ok = run(io_, c.eval("return redis.call('SET', KEYS[1], ARGV[1])", {"{u1}:a"}, {"v"}));
  ASSERT_TRUE(ok) << ok.error().message();
  auto cross = run(io_, c.eval("return 1", {"{u1}:a", "{u2}:b"}, {}));
  ASSERT_FALSE(cross);
  EXPECT_EQ(cross.error().code(), Errc::invalid_argument);
  EXPECT_NE(cross.error().message().find("CROSSSLOT"), std::string::npos) << cross.error().message();
  // Transactions: the same rule; one slot runs atomically on its master.
  auto tx = run(
      io_, c.transaction({resp::Command("SET").arg("{u1}:x").arg("1"), resp::Command("INCR").arg("{u1}:x")}));
  ASSERT_TRUE(tx) << tx.error().message();
  ASSERT_EQ(tx->size(), 2u);
  EXPECT_EQ((*tx)[1].integer(), 2);
  auto bad = run(io_, c.transaction({resp::Command("SET").arg("{u1}:x").arg("1"),
                                     resp::Command("SET").arg("{u2}:y").arg("1")}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("CROSSSLOT"), std::string::npos) << bad.error().message();
  auto y = run(io_, c.get("{u2}:y"));
  ASSERT_TRUE(y);
  EXPECT_FALSE(*y) << "nothing of a refused transaction ran";
  c.close();
}

}  // namespace
}  // namespace swarmkeeper
