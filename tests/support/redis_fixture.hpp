// SPDX-License-Identifier: Apache-2.0
// redis_fixture.hpp — GoogleTest fixtures over a real, private redis-server.
//
// RedisTest starts one redis-server per test suite (RedisProcess: free loopback port,
// temp dir, persistence off, stopped even when a test fails or the process dies) and
// flushes it before each test. run() drives a coroutine to completion on the fixture's
// io_context, so tests read top to bottom.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <memory>
#include <optional>

#include "net/connection.hpp"
#include "net/redis_process.hpp"
#include "net/run_blocking.hpp"

namespace swarmkeeper::testing {

namespace asio = boost::asio;

/// Runs an awaitable to completion on io (other work on io keeps running meanwhile).
using net::run_blocking;
template <class T>
T run(asio::io_context& io, asio::awaitable<T> aw) {
  return run_blocking(io, std::move(aw));
}

/// Starts a server with the given options, failing the test with its log if it can't.
std::unique_ptr<RedisProcess> start_server(RedisProcessOptions options = {});

class RedisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  /// Options pointing at the suite's server.
  static ConnectionOptions options();
  /// A connected connection to the suite's server; fails the test if it can't connect.
  std::shared_ptr<net::Connection> connect(ConnectionOptions opts = options());

  static std::unique_ptr<RedisProcess> server_;
  asio::io_context io_;
};

/// A private 3-master Redis Cluster per test suite (RedisCluster: loopback ports, every
/// node stopped even when a test fails), its masters flushed before each test.
class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  /// Options for node i alone (a plain connection), and for the whole cluster.
  static ConnectionOptions node(std::size_t i);
  static ConnectionOptions cluster();
  /// redis+cluster://127.0.0.1:<first node>
  static std::string cluster_url();
  /// Keys on every master together.
  static std::int64_t total_keys();

  static std::unique_ptr<RedisCluster> cluster_;
  static std::string failure_;
  asio::io_context io_;
};

}  // namespace swarmkeeper::testing

namespace swarmkeeper::testing {

/// A synchronous client for test set-up and checks (its own io_context, so it can be
/// used from inside another run's callbacks).
class BlockingClient {
 public:
  explicit BlockingClient(ConnectionOptions opts);
  /// Runs a command; fails the test (and returns a null reply) on error.
  resp::Reply cmd(const resp::Command& c);
  template <class... Args>
  resp::Reply operator()(std::string_view name, const Args&... args) {
    resp::Command c(name);
    (c.arg(args), ...);
    return cmd(c);
  }
  bool exists(std::string_view key) { return (*this)("EXISTS", key).integer() == 1; }
  /// Server time in ms.
  std::int64_t now_ms();

 private:
  asio::io_context io_;
  std::shared_ptr<net::Connection> conn_;
};

}  // namespace swarmkeeper::testing
