// SPDX-License-Identifier: Apache-2.0
// client_test.cpp — the Client against real servers: commands, compression interop,
// coalescing, pool limits, failures, restart mid-load, health checks, ACL, TLS, metrics.
#include "swarmkeeper/client/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include "support/redis_fixture.hpp"

namespace swarmkeeper {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmkeeper::testing::BlockingClient;
using swarmkeeper::testing::run;

class ClientTest : public swarmkeeper::testing::RedisTest {
 protected:
  ClientOptions client_options() {
    ClientOptions o;
    o.connection = options();
    o.connection.client_name = "client-under-test";
    return o;
  }
  // Runs `callers` coroutines doing `each` GET/SET pairs; returns failures.
  int hammer(Client& c, int callers, int each) {
    int done = 0, failed = 0;
    for (int i = 0; i < callers; ++i)
      asio::co_spawn(
          io_,
          [&, i]() -> asio::awaitable<void> {
            for (int j = 0; j < each; ++j) {
              const std::string k = "k" + std::to_string(i) + ":" + std::to_string(j);
              if (!co_await c.set(k, "v" + std::to_string(j))) ++failed;
              auto v = co_await c.get(k);
              if (!v || !*v || **v != "v" + std::to_string(j)) ++failed;
            }
            ++done;
          },
          asio::detached);
    io_.restart();
    while (done < callers) io_.run_one();
    return failed;
  }
};

TEST_F(ClientTest, CommandsRoundTripAndLargeValuesAreCompressedTransparently) {
  Client c(io_.get_executor(), client_options());
  std::string big = "{\"items\":[";
  while (big.size() < 8000) big += "{\"id\":" + std::to_string(big.size()) + ",\"state\":\"queued\"},";
  big += "{}]}";
  ASSERT_TRUE(run(io_, c.set("big", big)));
  ASSERT_TRUE(run(io_, c.set("small", "hello", 60s)));
  auto v = run(io_, c.get("big"));
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(**v, big);
  BlockingClient raw(options());
  EXPECT_LT(raw("STRLEN", "big").integer(), static_cast<std::int64_t>(big.size()) / 2) << "stored compressed";
  EXPECT_GT(raw("PTTL", "small").integer(), 0);
  auto negative = run(io_, c.set("neg", "v", std::chrono::milliseconds(-1)));  // as ClusterClient::set says
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code(), Errc::invalid_argument);
  EXPECT_EQ(raw("EXISTS", "neg").integer(), 0);
  raw("SET", "foreign", "written by someone else");
  auto m = run(io_, c.mget({"big", "small", "foreign", "missing"}));
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 4u);
  EXPECT_EQ(*(*m)[0], big);
  EXPECT_EQ(*(*m)[1], "hello");
  EXPECT_EQ(*(*m)[2], "written by someone else");
  EXPECT_FALSE((*m)[3].has_value());
  ASSERT_TRUE(run(io_, c.mset({{"a", "1"}, {"b", std::string("\xffSKZ not ours", 13)}})));
  EXPECT_EQ(**run(io_, c.get("b")), std::string("\xffSKZ not ours", 13));
  EXPECT_EQ(*run(io_, c.del({"a", "b", "nope"})), 2);
  EXPECT_TRUE(*run(io_, c.expire("big", 100s)));
  auto page = run(io_, c.scan("0", "sm*", 1000));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->second, std::vector<std::string>{"small"});
  EXPECT_EQ(run(io_, c.eval("return ARGV[1] .. KEYS[1]", {"k"}, {"x"}))->str(), "xk");
  EXPECT_EQ(*run(io_, c.publish("chan", "msg")), 0);
  auto err = run(io_, c.command(resp::Command("INCR").arg("big")));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code(), Errc::server_error);
  EXPECT_GE(c.metrics().compression.savings_ratio(), 0.4);
}

TEST_F(ClientTest, ConcurrentCallersCoalesceAndALoneCallerIsNotHeldBack) {
  ClientOptions o = client_options();
  o.max_connections = 1;
  Client c(io_.get_executor(), o);
  EXPECT_EQ(hammer(c, 64, 50), 0);
  auto m = c.metrics();
  EXPECT_GT(m.mean_batch(), 4.0) << "64 callers on one connection share writes";
  Client lone(io_.get_executor(), o);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(run(io_, lone.set("solo", "x")));
  const auto lm = lone.metrics();
  EXPECT_EQ(lm.commands_sent, 50u);
  EXPECT_EQ(lm.writes, 50u + 1u) << "one command per write, sent at once (+1: the connection's HELLO)";
}

TEST_F(ClientTest, PoolGrowsUnderLoadButNeverPastMax) {
  ClientOptions o = client_options();
  o.max_connections = 3;
  o.pipeline_batch = 2;  // busy early: forces growth
  Client c(io_.get_executor(), o);
  EXPECT_EQ(hammer(c, 50, 20), 0);
  auto m = c.metrics();
  EXPECT_EQ(m.pool.open, 3u);
  EXPECT_EQ(m.pool.connects, 3u);
  BlockingClient raw(options());
  const auto list = std::string(raw("CLIENT", "LIST").str());
  std::size_t n = 0;
  for (auto at = list.find("name=client-under-test"); at != std::string::npos;
       at = list.find("name=client-under-test", at + 1))
    ++n;
  EXPECT_EQ(n, 3u);
}

TEST_F(ClientTest, WrongPasswordFailsFastAndNoServerTimesOutAtAcquireTimeout) {
  auto secured = swarmkeeper::testing::start_server({.extra_args = {"--requirepass", "right"}});
  ASSERT_TRUE(secured);
  ClientOptions o;
  o.connection.port = secured->port();
  o.connection.password = "wrong";
  Client c(io_.get_executor(), o);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run(io_, c.get("x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::auth_failed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s)
      << "a permanent error does not wait for the acquire timeout";

  ClientOptions gone;
  gone.connection.port = 1;  // nothing listens
  gone.acquire_timeout = 400ms;
  Client nothing(io_.get_executor(), gone);
  const auto t1 = std::chrono::steady_clock::now();
  auto g = run(io_, nothing.get("x"));
  const auto took = std::chrono::steady_clock::now() - t1;
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), Errc::timeout) << g.error().message();
  EXPECT_NE(g.error().message().find("connection refused"), std::string::npos) << g.error().message();
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ClientTest, BlockingCommandsGetTheirOwnConnectionAndDoNotHoldUpOthers) {
  ClientOptions o = client_options();
  o.max_connections = 2;
  Client c(io_.get_executor(), o);
  ASSERT_TRUE(run(io_, c.set("x", "1")));
  bool blpop_done = false, get_done_first = false;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto r = co_await c.command(resp::Command("BLPOP").arg("empty-list").arg("0.5"));
        EXPECT_TRUE(r) << r.error().message();
        EXPECT_TRUE(r->is_null()) << "timed out empty";
        blpop_done = true;
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto v = co_await c.get("x");
        EXPECT_TRUE(v && *v);
        get_done_first = !blpop_done;
      },
      asio::detached);
  io_.restart();
  while (!blpop_done) io_.run_one();
  EXPECT_TRUE(get_done_first) << "GET must not wait behind a BLPOP";
}

TEST_F(ClientTest, TransactionsAndPipelines) {
  Client c(io_.get_executor(), client_options());
  resp::Pipeline tx;
  tx.add("INCR", "n").add("INCR", "n").add("INCRBY", "n", 10);
  auto r = run(io_, c.transaction(tx));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(resp::to_string(r->root()), "[1, 2, 12]");
  resp::Pipeline bad;
  bad.add("INCR", "n").add("NOSUCHCOMMAND");
  auto aborted = run(io_, c.transaction(bad));
  ASSERT_FALSE(aborted);
  EXPECT_EQ(BlockingClient(options())("GET", "n").str(), "12") << "nothing of an aborted transaction ran";
  resp::Pipeline p;
  p.add("SET", "p", "1").add("INCR", "no-int-here-but-fine").add("LPUSH", "p", "x").add("GET", "p");
  auto replies = run(io_, c.pipeline(p));
  ASSERT_TRUE(replies);
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[0].str(), "OK");
  EXPECT_TRUE((*replies)[2].is_error()) << "WRONGTYPE stays in its slot";
  EXPECT_EQ((*replies)[3].str(), "1");
}

TEST_F(ClientTest, LeasesAreBoundedByMaxConnectionsAndTimeOutClearly) {
  ClientOptions o = client_options();
  o.max_connections = 2;
  o.acquire_timeout = 200ms;
  Client c(io_.get_executor(), o);
  auto a = run(io_, c.lease());
  auto b = run(io_, c.lease());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(run(io_, a->exec(resp::Command("PING")))->str(), "PONG");
  auto third = run(io_, c.lease());
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), Errc::timeout);
  EXPECT_NE(third.error().message().find("max_connections"), std::string::npos) << third.error().message();
  { auto released = std::move(*a); }
  auto fourth = run(io_, c.lease());
  EXPECT_TRUE(fourth) << "a released lease makes room";
}

TEST_F(ClientTest, SubscribersReceivePublishedMessagesInOrder) {
  Client c(io_.get_executor(), client_options());
  auto sub = run(io_, c.subscribe({"news", "alerts"}));
  ASSERT_TRUE(sub) << sub.error().message();
  EXPECT_EQ(*run(io_, c.publish("news", "first")), 1);
  EXPECT_EQ(*run(io_, c.publish("alerts", "second")), 1);
  EXPECT_EQ(*run(io_, c.publish("elsewhere", "ignored")), 0);
  EXPECT_EQ(*run(io_, c.publish("news", "third")), 1);
  for (auto [channel, payload] : {std::pair{"news", "first"}, {"alerts", "second"}, {"news", "third"}}) {
    auto m = run(io_, sub->next());
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->channel, channel);
    EXPECT_EQ(m->payload, payload);
  }
  EXPECT_TRUE(run(io_, c.get("still-works"))) << "ordinary commands are unaffected";
}

TEST(ClientRestart, ServerRestartedMidLoadTheClientReconnectsAndNoAcknowledgedWriteIsLost) {
  auto server =
      swarmkeeper::testing::start_server({.extra_args = {"--appendonly", "yes", "--appendfsync", "always"}});
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  ClientOptions o;
  o.connection.port = server->port();
  Client c(io.get_executor(), o);
  std::vector<int> acked;
  int failed = 0;
  for (int i = 0; i < 600; ++i) {
    if (i == 200) {
      ASSERT_TRUE(server->restart()) << "restart";
    }
    auto r = run(io, c.set("w" + std::to_string(i), std::to_string(i)));
    if (r) {
      acked.push_back(i);
    } else {
      ++failed;
    }
  }
  EXPECT_LE(failed, 2) << "at most the command(s) in flight when the server went away";
  EXPECT_GE(acked.size(), 598u);
  BlockingClient raw([&] {
    ConnectionOptions x;
    x.port = server->port();
    return x;
  }());
  for (int i : acked) {
    ASSERT_EQ(raw("GET", "w" + std::to_string(i)).str(), std::to_string(i)) << "acknowledged write " << i;
  }
  EXPECT_GE(c.metrics().pool.failures, 1u);
}

TEST_F(ClientTest, HealthCheckReplacesAConnectionTheServerKilled) {
  ClientOptions o = client_options();
  o.health_check_interval = 50ms;
  o.max_connections = 1;
  Client c(io_.get_executor(), o);
  ASSERT_TRUE(run(io_, c.set("x", "1")));
  BlockingClient killer(options());
  EXPECT_EQ(killer("CLIENT", "KILL", "USER", "default", "SKIPME", "yes").integer(), 1);
  boost::asio::steady_timer t(io_, 200ms);  // let the health loop notice
  run(io_, [&]() -> asio::awaitable<int> {
    co_await t.async_wait(asio::use_awaitable);
    co_return 0;
  }());
  EXPECT_EQ(c.metrics().pool.open, 0u) << "the dead connection was dropped";
  auto v = run(io_, c.get("x"));
  ASSERT_TRUE(v) << "the next command gets a fresh connection: " << v.error().message();
  EXPECT_EQ(**v, "1");
  EXPECT_EQ(c.metrics().pool.failures, 1u);
}

TEST(ClientAcl, RestrictedUserGetsTypedNoPermission) {
  auto server =
      swarmkeeper::testing::start_server({.extra_args = {"--user", "app", "on", ">pw", "~app:*", "+@all"}});
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  ClientOptions o;
  o.connection.port = server->port();
  o.connection.username = "app";
  o.connection.password = "pw";
  Client c(io.get_executor(), o);
  EXPECT_TRUE(run(io, c.set("app:1", "ok")));
  auto denied = run(io, c.set("other:1", "no"));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), Errc::no_permission) << denied.error().message();
}

TEST(ClientTls, WorksOverVerifiedTls) {
  auto server = swarmkeeper::testing::start_server({.tls = true});
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  ClientOptions o;
  o.connection = *parse_redis_url(server->url());
  Client c(io.get_executor(), o);
  ASSERT_TRUE(run(io, c.set("secure", "yes")));
  EXPECT_EQ(**run(io, c.get("secure")), "yes");
}

TEST_F(ClientTest, SyncClientFromManyThreadsFuturesAndPrometheusMetrics) {
  SyncClient c(client_options());
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string k = "t" + std::to_string(t) + ":" + std::to_string(i);
        if (!c.set(k, k)) ++failed;
        auto v = c.get(k);
        if (!v || !*v || **v != k) ++failed;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 0);
  std::vector<std::future<Result<resp::Reply>>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(c.command_async(resp::Command("INCR").arg("counter")));
  std::int64_t last = 0;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_GT(r->integer(), last) << "replies in order";
    last = r->integer();
  }
  EXPECT_EQ(last, 100);
  const auto m = c.metrics();
  const std::string text = render_prometheus(m);
  EXPECT_NE(text.find("swarmkeeper_client_commands_total{command=\"GET\"} 800"), std::string::npos) << text;
  EXPECT_NE(text.find("swarmkeeper_client_command_duration_seconds{command=\"SET\",quantile=\"0.99\"}"),
            std::string::npos);
  EXPECT_NE(text.find("swarmkeeper_client_pool_connects_total"), std::string::npos);
}

}  // namespace
}  // namespace swarmkeeper
