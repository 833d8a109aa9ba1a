// SPDX-License-Identifier: Apache-2.0
// connection_test.cpp — one connection against real redis-servers: handshake, pipelining,
// typed errors for refused / wrong password / unresponsive servers, ACL, TLS.
#include "net/connection.hpp"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>

#include "support/redis_fixture.hpp"

namespace swarmkeeper::net {
namespace {

using namespace std::chrono_literals;
using swarmkeeper::testing::run;
using swarmkeeper::testing::start_server;
using Clock = std::chrono::steady_clock;

class ConnectionTest : public swarmkeeper::testing::RedisTest {};

TEST_F(ConnectionTest, HandshakeSpeaksResp3AndSetsName) {
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->protocol(), 3);
  EXPECT_FALSE(conn->server_version().empty());
  auto name = run(io_, conn->exec(resp::Command("CLIENT").arg("GETNAME")));
  ASSERT_TRUE(name) << name.error().message();
  EXPECT_EQ(name->str(), "swarmkeeper");
}

TEST_F(ConnectionTest, Resp2WhenAskedAndDbSelected) {
  auto opts = options();
  opts.protocol = 2;
  opts.db = 3;
  auto conn = connect(opts);
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->protocol(), 2);
  ASSERT_TRUE(run(io_, conn->exec(resp::Command("SET").arg("k").arg("in-db-3"))));
  auto other = connect();
  auto v = run(io_, other->exec(resp::Command("GET").arg("k")));
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->is_null()) << "db 0 must not see db 3's key";
  auto info = run(io_, conn->exec(resp::Command("CLIENT").arg("INFO")));
  ASSERT_TRUE(info);
  EXPECT_NE(info->str().find("db=3"), std::string::npos);
  EXPECT_NE(info->str().find("resp=2"), std::string::npos);
}

TEST_F(ConnectionTest, TenThousandPipelinedCommandsInOneBatchRoundTrip) {
  auto conn = connect();
  ASSERT_TRUE(conn);
  resp::Pipeline sets, gets;
  for (int i = 0; i < 10000; ++i) {
    sets.add("SET", "key:" + std::to_string(i), "value-" + std::to_string(i * 7));
    gets.add("GET", "key:" + std::to_string(i));
  }
  const auto writes_before = conn->writes();
  auto set_replies = run(io_, conn->exec(sets));
  ASSERT_TRUE(set_replies) << set_replies.error().message();
  EXPECT_EQ(conn->writes() - writes_before, 1u) << "one batch, one write";
  ASSERT_EQ(set_replies->size(), 10000u);
  for (const auto& r : *set_replies) ASSERT_EQ(r.str(), "OK");
  auto get_replies = run(io_, conn->exec(gets));
  ASSERT_TRUE(get_replies);
  ASSERT_EQ(get_replies->size(), 10000u);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ((*get_replies)[i].str(), "value-" + std::to_string(i * 7)) << i;
}

TEST_F(ConnectionTest, ConcurrentCallersShareWritesAndGetTheirOwnReplies) {
  auto conn = connect();
  ASSERT_TRUE(conn);
  constexpr int kCallers = 200;
  int done = 0, mismatches = 0;
  for (int i = 0; i < kCallers; ++i) {
    asio::co_spawn(
        io_,
        [&, i]() -> asio::awaitable<void> {
          auto echo = co_await conn->exec(resp::Command("ECHO").arg("caller-" + std::to_string(i)));
          if (!echo || echo->str() != "caller-" + std::to_string(i)) ++mismatches;
          ++done;
        },
        asio::detached);
  }
  const auto writes_before = conn->writes();
  io_.restart();
  while (done < kCallers) io_.run_one();
  EXPECT_EQ(mismatches, 0);
  EXPECT_LT(conn->writes() - writes_before, static_cast<std::uint64_t>(kCallers)) << "commands must coalesce";
}

TEST_F(ConnectionTest, ErrorRepliesAreTypedAndTheConnectionSurvives) {
  auto conn = connect();
  ASSERT_TRUE(conn);
  ASSERT_TRUE(run(io_, conn->exec(resp::Command("LPUSH").arg("list").arg("x"))));
  auto wrong = run(io_, conn->exec(resp::Command("GET").arg("list")));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Errc::server_error);
  EXPECT_NE(wrong.error().message().find("WRONGTYPE"), std::string::npos);
  auto noscript = run(io_, conn->exec(resp::Command("EVALSHA").arg(std::string(40, 'a')).arg(0)));
  ASSERT_FALSE(noscript);
  EXPECT_EQ(noscript.error().code(), Errc::no_script);
  EXPECT_TRUE(conn->is_open());
  auto pong = run(io_, conn->exec(resp::Command("PING")));
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->str(), "PONG");
}

TEST_F(ConnectionTest, BinaryValuesRoundTrip) {
  auto conn = connect();
  static constexpr char kRaw[] = "\0\r\n$*\xff binary";
  const std::string value(kRaw, sizeof kRaw - 1);
  const std::string big(2 * 1024 * 1024, 'b');
  ASSERT_TRUE(run(io_, conn->exec(resp::Command("MSET").arg("bin").arg(value).arg("big").arg(big))));
  auto r = run(io_, conn->exec(resp::Command("MGET").arg("bin").arg("big").arg("missing")));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].str(), value);
  EXPECT_EQ((*r)[1].str(), big);
  EXPECT_TRUE((*r)[2].is_null());
}

TEST_F(ConnectionTest, ConnectionRefusedIsTypedAndFast) {
  boost::asio::ip::tcp::acceptor probe(io_, {boost::asio::ip::address_v4::loopback(), 0});
  auto opts = options();
  opts.port = probe.local_endpoint().port();
  probe.close();  // nothing listens there now
  const auto start = Clock::now();
  auto conn = run(io_, Connection::open(io_.get_executor(), opts));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code(), Errc::connection_refused);
  EXPECT_NE(conn.error().message().find("connection refused"), std::string::npos);
  EXPECT_LT(Clock::now() - start, opts.connect_timeout);
}

TEST_F(ConnectionTest, ServerThatNeverAnswersTimesOutWithinTheConfiguredTimeout) {
  // A listening socket that accepts (the kernel does) but never replies.
  boost::asio::ip::tcp::acceptor mute(io_, {boost::asio::ip::address_v4::loopback(), 0});
  auto opts = options();
  opts.port = mute.local_endpoint().port();
  opts.connect_timeout = 300ms;
  const auto start = Clock::now();
  auto conn = run(io_, Connection::open(io_.get_executor(), opts));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code(), Errc::timeout) << conn.error().message();
  EXPECT_NE(conn.error().message().find("timed out"), std::string::npos) << conn.error().message();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ConnectionTest, CommandTimeoutFailsInFlightCommandsWithTimeout) {
  auto opts = options();
  opts.command_timeout = 300ms;
  auto conn = connect(opts);
  ASSERT_TRUE(conn);
  const auto start = Clock::now();
  // DEBUG SLEEP blocks the server for 2 s: no reply within the 300 ms command timeout.
  auto r = run(io_, conn->exec(resp::Command("DEBUG").arg("SLEEP").arg("2")));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::timeout) << r.error().message();
  EXPECT_LT(took, 1500ms);
  EXPECT_FALSE(conn->is_open());
  auto after = run(io_, conn->exec(resp::Command("PING")));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Errc::timeout) << "a dead connection fails new commands with its cause";
}

TEST_F(ConnectionTest, ServerGoingAwayFailsInFlightCommandsAsConnectionLost) {
  auto conn = connect();
  ASSERT_TRUE(conn);
  auto killer = connect();
  auto id = run(io_, conn->exec(resp::Command("CLIENT").arg("ID")));
  ASSERT_TRUE(id);
  ASSERT_TRUE(run(io_, killer->exec(resp::Command("CLIENT").arg("KILL").arg("ID").arg(id->integer()))));
  auto r = run(io_, conn->exec(resp::Command("PING")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::connection_lost) << r.error().message();
  EXPECT_TRUE(is_transient(r.error().code()));
}

TEST(ConnectionAuth, WrongPasswordIsAuthFailedAndNeverEchoesThePassword) {
  auto server = start_server({.extra_args = {"--requirepass", "right-secret"}});
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  ConnectionOptions opts;
  opts.port = server->port();
  opts.password = "wrong-secret-xyz";
  auto conn = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), opts));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code(), Errc::auth_failed);
  EXPECT_EQ(conn.error().message().find("wrong-secret-xyz"), std::string::npos) << conn.error().message();
  EXPECT_NE(conn.error().message().find(":***@"), std::string::npos) << conn.error().message();

  opts.password.clear();
  auto none = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), opts));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), Errc::auth_failed) << none.error().message();

  opts.password = "right-secret";
  auto good = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), opts));
  ASSERT_TRUE(good) << good.error().message();
}

TEST(ConnectionAuth, AclUserWithRestrictedCommandsGetsNoPermission) {
  auto server = start_server(
      {.extra_args = {"--user", "reader", "on", ">reader-pw", "~*", "+@read", "+ping", "+hello", "+client"}});
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  ConnectionOptions opts;
  opts.port = server->port();
  opts.username = "reader";
  opts.password = "reader-pw";
  auto conn = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), opts));
  ASSERT_TRUE(conn) << conn.error().message();
  auto get = swarmkeeper::testing::run(io, (*conn)->exec(resp::Command("GET").arg("x")));
  EXPECT_TRUE(get) << get.error().message();
  auto set = swarmkeeper::testing::run(io, (*conn)->exec(resp::Command("SET").arg("x").arg("1")));
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code(), Errc::no_permission) << set.error().message();
  EXPECT_FALSE(is_transient(set.error().code()));

  opts.password = "nope";
  auto bad = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), opts));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::auth_failed);
  EXPECT_NE(bad.error().message().find("'reader'"), std::string::npos) << bad.error().message();
}

TEST(ConnectionTls, VerifiedTlsWorksAndAWrongCaIsATlsError) {
  auto server = start_server({.tls = true});
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  auto opts = parse_redis_url(server->url());
  ASSERT_TRUE(opts) << opts.error().message();
  EXPECT_TRUE(opts->tls.enabled);
  auto conn = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), *opts));
  ASSERT_TRUE(conn) << conn.error().message();
  auto pong = swarmkeeper::testing::run(io, (*conn)->exec(resp::Command("PING")));
  ASSERT_TRUE(pong) << pong.error().message();
  EXPECT_EQ(pong->str(), "PONG");

  // Trusting another CA (the system store, which does not know ours) must fail clearly.
  auto untrusted = *opts;
  untrusted.tls.ca_file.clear();
  auto bad = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), untrusted));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::tls_error) << bad.error().message();
  EXPECT_NE(bad.error().message().find("certificate verify failed"), std::string::npos)
      << bad.error().message();

  // Verification off (tests only): connects without trusting the CA, and says so on stderr.
  auto insecure = untrusted;
  insecure.tls.verify = false;
  ::testing::internal::CaptureStderr();
  auto unverified = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), insecure));
  const std::string warning = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(unverified) << unverified.error().message();
  EXPECT_NE(warning.find("verification is OFF"), std::string::npos) << warning;

  // Plain TCP against the TLS port: the server hangs up; a typed error, not a hang.
  auto plain = *opts;
  plain.tls.enabled = false;
  plain.connect_timeout = 2s;
  auto p = swarmkeeper::testing::run(io, Connection::open(io.get_executor(), plain));
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().code() == Errc::connection_lost || p.error().code() == Errc::timeout)
      << p.error().message();
}

}  // namespace
}  // namespace swarmkeeper::net
