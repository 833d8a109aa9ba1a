// SPDX-License-Identifier: Apache-2.0
// threaded_client_test.cpp — the client on every core against a real server: callers on
// an I/O thread use that thread's Client (no hop), callers elsewhere are spread over the
// threads, 64 callers on 2 threads get every reply right, metrics add up, and the client
// shuts down with commands in flight.
#include "swarmkeeper/client/threaded_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "support/redis_fixture.hpp"

namespace swarmkeeper {
namespace {

namespace asio = boost::asio;
using swarmkeeper::testing::BlockingClient;

class ThreadedClientTest : public swarmkeeper::testing::RedisTest {
 protected:
  ClientOptions client_options() {
    ClientOptions o;
    o.connection = options();
    o.min_connections = 1;
    return o;
  }
  // Waits (up to 30 s) until counter reaches n.
  static bool wait_for(const std::atomic<int>& counter, int n) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (counter.load() < n && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return counter.load() >= n;
  }
};

TEST_F(ThreadedClientTest, ACallerOnAnIoThreadUsesThatThreadsClient) {
  ThreadedClient tc(client_options(), 3);
  ASSERT_EQ(tc.threads(), 3u);
  std::atomic<int> done{0}, wrong{0};
  std::mutex m;
  std::set<std::thread::id> ids;
  for (int i = 0; i < 9; ++i)
    tc.spawn([&]() -> asio::awaitable<void> {
      Client& mine = tc.local();
      // The client's executor is the one this coroutine runs on: its calls need no hop.
      if (mine.executor() != co_await asio::this_coro::executor) ++wrong;
      if (&tc.local() != &mine) ++wrong;  // stable on the same thread
      auto ok = co_await tc.set("t:" + std::to_string(done.load()), "v");
      if (!ok) ++wrong;
      {
        std::lock_guard<std::mutex> lock(m);
        ids.insert(std::this_thread::get_id());
      }
      ++done;
    });
  ASSERT_TRUE(wait_for(done, 9));
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ids.size(), 3u) << "spawn() spreads callers over every I/O thread";
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST_F(ThreadedClientTest, SixtyFourCallersOnTwoThreadsGetEveryReplyRight) {
  ThreadedClient tc(client_options(), 2);
  std::atomic<int> done{0}, failed{0};
  constexpr int kCallers = 64, kEach = 200;
  for (int i = 0; i < kCallers; ++i)
    tc.spawn([&, i]() -> asio::awaitable<void> {
      for (int j = 0; j < kEach; ++j) {
        const std::string k = "c" + std::to_string(i) + ":" + std::to_string(j % 7);
        const std::string v = "v" + std::to_string(i) + "-" + std::to_string(j);
        if (!co_await tc.set(k, v)) ++failed;
        auto got = co_await tc.get(k);
        if (!got || !*got || **got != v) ++failed;  // each caller owns its keys: must read its own write
      }
      ++done;
    });
  ASSERT_TRUE(wait_for(done, kCallers));
  EXPECT_EQ(failed.load(), 0);
  const auto m = tc.metrics();
  std::uint64_t calls = 0;
  for (const auto& c : m.commands) calls += c.calls;
  EXPECT_EQ(calls, 2u * kCallers * kEach) << "the threads' metrics add up";
  EXPECT_GE(m.pool.open, 2u) << "each thread has connections of its own";
}

TEST_F(ThreadedClientTest, CallersOnOtherThreadsAreSpreadOverTheIoThreads) {
  ThreadedClient tc(client_options(), 2);
  std::set<Client*> used;
  for (int i = 0; i < 4; ++i) used.insert(&tc.local());
  EXPECT_EQ(used.size(), 2u) << "round-robin from a foreign thread";
  // A caller on its own io_context: each call hops to an I/O thread and back.
  asio::io_context io;
  auto r = swarmkeeper::testing::run(io, tc.set("foreign", "yes"));
  ASSERT_TRUE(r) << r.error().message();
  auto v = swarmkeeper::testing::run(io, tc.get("foreign"));
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(**v, "yes");
  EXPECT_EQ(BlockingClient(options())("GET", "foreign").str(), "yes");
}

TEST_F(ThreadedClientTest, ClosingWithCommandsInFlightEndsEveryCaller) {
  std::atomic<int> done{0};
  {
    ThreadedClient tc(client_options(), 2);
    for (int i = 0; i < 32; ++i)
      tc.spawn([&]() -> asio::awaitable<void> {
        for (int j = 0; j < 100000; ++j)
          if (!co_await tc.command(resp::Command("PING"))) break;  // cancelled once closed
        ++done;
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    tc.close();
    EXPECT_TRUE(wait_for(done, 32)) << done.load() << " of 32 callers ended";
  }  // joins its threads
}

// Regression (review): metrics() and close() from two I/O threads at once waited on each
// other's thread for good.
TEST_F(ThreadedClientTest, MetricsAndCloseFromTheIoThreadsNeverDeadlock) {
  ThreadedClient tc(client_options(), 2);
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i)
    tc.spawn([&, i]() -> asio::awaitable<void> {
      (void)co_await tc.set("m" + std::to_string(i), "v");
      const auto m = tc.metrics();  // this thread's figures only
      if (!m.commands.empty()) ++done;
      if (i >= 2) tc.close();
    });
  EXPECT_TRUE(wait_for(done, 4)) << done.load() << " of 4 callers came back";
}

}  // namespace
}  // namespace swarmkeeper
