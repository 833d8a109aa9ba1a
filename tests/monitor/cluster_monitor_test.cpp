// SPDX-License-Identifier: Apache-2.0
// cluster_monitor_test.cpp — the monitor on a private 3-master cluster: every master
// watched (per-node series and cluster totals), the census over all of them, slot
// coverage, /metrics valid for promtool.
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "net/redis_process.hpp"
#include "support/cli_runner.hpp"
#include "swarmkeeper/monitor/monitor.hpp"

namespace swarmkeeper {
namespace {

using swarmkeeper::testing::BlockingClient;

class ClusterMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = RedisCluster::start(3);
    ASSERT_TRUE(c) << c.error().message();
    cluster_ = std::move(*c);
  }
  ConnectionOptions node(std::size_t i) {
    ConnectionOptions o;
    o.port = cluster_->nodes()[i]->port();
    return o;
  }
  // A monitor on `where`, refreshing every 300 ms, on a free loopback port.
  static monitor::MonitorOptions watching(ConnectionOptions where) {
    monitor::MonitorOptions o;
    o.connection = std::move(where);
    o.listen = "127.0.0.1:0";
    o.refresh = std::chrono::milliseconds(300);
    return o;
  }
  std::unique_ptr<RedisCluster> cluster_;
};

// The monitor on a cluster: every master watched, the census over all of them.
TEST_F(ClusterMonitorTest, WatchesEveryMasterAndCountsTheWholeSwarm) {
  for (std::size_t i = 0; i < 3; ++i) BlockingClient(node(i))("FLUSHALL");
  const std::string url = "redis+cluster://127.0.0.1:" + std::to_string(cluster_->nodes()[1]->port());
  ASSERT_EQ(swarmkeeper::testing::run_cli("seed --force --url " + url + " --coordinators 3000 --stale 2900")
                .exit_code,
            0);
  const monitor::MonitorOptions o = watching(*parse_redis_url(url));
  monitor::Monitor m(o);
  ASSERT_TRUE(m.start());
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    text = m.metrics_text();
    if (text.find("swarmkeeper_coordinators{state=\"stale\"} 2900\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(text.find("swarmkeeper_coordinators{state=\"stale\"} 2900\n"), std::string::npos) << text;
  EXPECT_NE(text.find("swarmkeeper_coordinators{state=\"active\"} 100\n"), std::string::npos);
  EXPECT_NE(text.find("swarmkeeper_cluster_state_ok 1\n"), std::string::npos);
  EXPECT_NE(text.find("swarmkeeper_cluster_slots_ok 16384\n"), std::string::npos);
  EXPECT_NE(text.find("swarmkeeper_cluster_masters_watched 3\n"), std::string::npos);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NE(text.find("swarmkeeper_redis_up{node=\"127.0.0.1:" +
                        std::to_string(cluster_->nodes()[i]->port()) + "\"} 1"),
              std::string::npos)
        << "node " << i;
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // a few more refreshes
  text = m.metrics_text();
  EXPECT_EQ(text.find("error=\"MOVED\""), std::string::npos) << "the monitor asks each key's owner only";
  const std::string file = ::testing::TempDir() + "/cluster-metrics.txt";
  std::ofstream(file) << text;
  EXPECT_EQ(std::system(("promtool check metrics < " + file + " > " + file + ".out 2>&1").c_str()), 0)
      << swarmkeeper::testing::slurp(file + ".out");
  m.stop();
}

// A plain URL to a cluster node that is down at start: the monitor serves, and once the
// node answers it learns that it is a cluster node and watches every master.
TEST_F(ClusterMonitorTest, APlainUrlToANodeDownAtStartWatchesTheClusterOnceItAnswers) {
  const monitor::MonitorOptions o = watching(node(2));
  cluster_->nodes()[2]->stop();
  monitor::Monitor m(o);
  ASSERT_TRUE(m.start()) << "Redis down at start is no reason to refuse";
  std::string text = m.metrics_text();
  EXPECT_NE(text.find("swarmkeeper_redis_up 0\n"), std::string::npos) << text;
  ASSERT_TRUE(cluster_->nodes()[2]->restart());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto watched_all = [&] {
    for (std::size_t i = 0; i < 3; ++i)
      if (text.find("swarmkeeper_redis_up{node=\"127.0.0.1:" + std::to_string(cluster_->nodes()[i]->port()) +
                    "\"} 1") == std::string::npos)
        return false;
    return text.find("swarmkeeper_cluster_masters_watched 3\n") != std::string::npos;
  };
  while (std::chrono::steady_clock::now() < deadline && !watched_all()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    text = m.metrics_text();
  }
  EXPECT_TRUE(watched_all()) << text;
  m.stop();
}

// A master that stalls (SIGSTOP: it takes connections and never answers) holds no
// collector past stop(): the router is closed first, so every command waiting on the
// stalled node returns at once.
TEST_F(ClusterMonitorTest, StopIsPromptWhileAMasterStalls) {
  const monitor::MonitorOptions o = watching(node(0));
  monitor::Monitor m(o);
  ASSERT_TRUE(m.start());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const pid_t stalled = cluster_->nodes()[2]->pid();
  ASSERT_EQ(::kill(stalled, SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // collectors now wait on it
  const auto t0 = std::chrono::steady_clock::now();
  m.stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  ::kill(stalled, SIGCONT);
  EXPECT_LT(took, std::chrono::milliseconds(2500)) << "stop() waited out the stalled master's timeouts";
}

}  // namespace
}  // namespace swarmkeeper
