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
#include "net/run_blocking.hpp"
#include "swarmkeeper/redis_process.hpp"

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

}  // namespace swarmkeeper::testing
