// SPDX-License-Identifier: Apache-2.0
// reply_shape_test.cpp — the typed commands against a fake server that answers with the
// wrong shape (an array, a map, an integer where a value belongs): each must fail with
// Errc::unexpected_reply, never succeed with a made-up value. The fake speaks RESP2
// (it refuses HELLO), answers the handshake, and gives one canned reply per command.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "swarmkeeper/client/client.hpp"

namespace swarmkeeper {
namespace {

class FakeServer {
 public:
  explicit FakeServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      ADD_FAILURE() << "bind: " << std::strerror(errno);
    ::listen(fd_, 8);
    socklen_t n = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  // One connection at a time; each complete command (a RESP array of bulk strings) gets
  // one reply: HELLO is refused (RESP2), PING/CLIENT/SELECT/AUTH are fine, the rest canned.
  void serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string buf;
      char chunk[4096];
      for (;;) {
        const ssize_t got = ::recv(c, chunk, sizeof chunk, 0);
        if (got <= 0) break;
        buf.append(chunk, static_cast<std::size_t>(got));
        std::size_t used = 0;
        std::string name;
        while (parse(buf, used, name)) {
          buf.erase(0, used);
          std::string out = reply_;
          for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
          if (name == "HELLO")
            out = "-ERR unknown command 'HELLO'\r\n";
          else if (name == "PING")
            out = "+PONG\r\n";
          else if (name == "CLIENT" || name == "SELECT" || name == "AUTH")
            out = "+OK\r\n";
          ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
        }
      }
      ::close(c);
    }
  }
  static bool parse(const std::string& b, std::size_t& used, std::string& name) {
    if (b.empty() || b[0] != '*') return false;
    std::size_t at = b.find("\r\n");
    if (at == std::string::npos) return false;
    const long n = std::strtol(b.c_str() + 1, nullptr, 10);
    at += 2;
    for (long i = 0; i < n; ++i) {
      const std::size_t e = b.find("\r\n", at);
      if (e == std::string::npos || b[at] != '$') return false;
      const long len = std::strtol(b.c_str() + at + 1, nullptr, 10);
      if (b.size() < e + 2 + static_cast<std::size_t>(len) + 2) return false;
      if (i == 0) name = b.substr(e + 2, static_cast<std::size_t>(len));
      at = e + 2 + static_cast<std::size_t>(len) + 2;
    }
    used = at;
    return true;
  }
  std::string reply_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

template <class T>
boost::asio::awaitable<void> deliver(boost::asio::awaitable<T> aw, std::promise<T>* p) {
  p->set_value(co_await std::move(aw));
}
// Runs a Client coroutine on its executor and waits for its result.
template <class T>
T run_on(const boost::asio::any_io_executor& ex, boost::asio::awaitable<T> aw) {
  std::promise<T> p;
  auto f = p.get_future();
  boost::asio::co_spawn(ex, deliver(std::move(aw), &p), boost::asio::detached);
  return f.get();
}

ClientOptions options_for(const FakeServer& s) {
  ClientOptions o;
  o.connection.host = "127.0.0.1";
  o.connection.port = s.port();
  o.min_connections = 1;
  o.max_connections = 1;
  o.read_retries = 0;
  return o;
}

TEST(ReplyShape, AGetAnsweredWithAnArrayAMapOrAnIntegerIsAnUnexpectedReply) {
  for (const char* wrong : {"*2\r\n$1\r\na\r\n$1\r\nb\r\n", ":5\r\n", "%1\r\n+a\r\n+b\r\n", "*0\r\n"}) {
    FakeServer fake(wrong);
    SyncClient c(options_for(fake));
    auto v = c.get("k");
    ASSERT_FALSE(v) << wrong << " gave a value";
    EXPECT_EQ(v.error().code(), Errc::unexpected_reply) << v.error().message();
  }
}

TEST(ReplyShape, CountsAndAcknowledgementsOfTheWrongShapeAreUnexpectedReplies) {
  {
    FakeServer fake("$3\r\nabc\r\n");  // a string where DEL, UNLINK, EXPIRE and PUBLISH answer an integer
    SyncClient s(options_for(fake));
    auto opened = s.async();
    ASSERT_TRUE(opened) << opened.error().message();
    Router& c = **opened;
    auto wait = [](auto aw, const boost::asio::any_io_executor& ex) { return run_on(ex, std::move(aw)); };
    auto del = wait(c.del({"k"}), c.executor());
    ASSERT_FALSE(del);
    EXPECT_EQ(del.error().code(), Errc::unexpected_reply);
    auto expire = wait(c.expire("k", std::chrono::seconds(5)), c.executor());
    ASSERT_FALSE(expire);
    EXPECT_EQ(expire.error().code(), Errc::unexpected_reply);
    auto mget = wait(c.mget({"a", "b"}), c.executor());  // a string, not an array of two
    ASSERT_FALSE(mget);
    EXPECT_EQ(mget.error().code(), Errc::unexpected_reply);
  }
  FakeServer fake(":1\r\n");  // an integer where SET answers +OK
  SyncClient s(options_for(fake));
  auto r = s.set("k", "v");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::unexpected_reply) << r.error().message();
}

// Commands that would hand one caller another caller's reply on a shared connection (an
// empty command gets no reply; SUBSCRIBE's confirmation is a push) are refused, typed,
// before anything is sent; ordinary ones go on as before.
TEST(ReplyShape, CommandsThatCannotShareAConnectionAreRefusedNamingTheRightApi) {
  FakeServer fake("+OK\r\n");
  SyncClient c(options_for(fake));
  struct Case {
    resp::Command cmd;
    const char* says;
  };
  std::vector<Case> cases;
  cases.push_back({resp::Command{}, "empty"});
  cases.push_back({resp::Command("SUBSCRIBE").arg("ch"), "subscribe()"});
  cases.push_back({resp::Command("psubscribe").arg("c*"), "subscribe()"});
  cases.push_back({resp::Command("MONITOR"), "lease()"});
  cases.push_back({resp::Command("CLIENT").arg("REPLY").arg("OFF"), "lease()"});
  cases.push_back({resp::Command("SELECT").arg(2), "ConnectionOptions"});
  cases.push_back({resp::Command("HELLO").arg(2), "ConnectionOptions"});
  cases.push_back({resp::Command("MULTI"), "transaction()"});  // every caller's command would answer +QUEUED
  cases.push_back({resp::Command("exec"), "transaction()"});
  cases.push_back({resp::Command("WATCH").arg("k"), "lease()"});
  for (const auto& k : cases) {
    auto r = c.command(k.cmd);
    ASSERT_FALSE(r) << k.cmd.encoded();
    EXPECT_EQ(r.error().code(), Errc::invalid_argument) << k.cmd.encoded();
    EXPECT_NE(r.error().message().find(k.says), std::string::npos) << r.error().message();
  }
  EXPECT_TRUE(c.command(resp::Command("CLIENT").arg("SETNAME").arg("x")))
      << "other CLIENT subcommands are fine";
  EXPECT_TRUE(c.command(resp::Command("GET").arg("k")));
}

// The same commands in a pipeline or a transaction are refused as a whole, before
// anything is sent, naming the command; a blocking command too in a pipeline (it would
// hold up the shared connection), not in a transaction (MULTI never blocks).
TEST(ReplyShape, PipelinesAndTransactionsRefuseWhatASharedConnectionCannotCarry) {
  FakeServer fake("+OK\r\n");
  SyncClient s(options_for(fake));
  auto opened = s.async();
  ASSERT_TRUE(opened) << opened.error().message();
  auto& c = dynamic_cast<Client&>(**opened);  // one server: a Client, with its resp::Pipeline overloads
  auto wait = [&](auto aw) { return run_on(c.executor(), std::move(aw)); };
  for (const resp::Command& bad : {resp::Command("SUBSCRIBE").arg("ch"), resp::Command{},
                                   resp::Command("select").arg(1), resp::Command("BLPOP").arg("q").arg(0)}) {
    resp::Pipeline p;
    p.add("SET", "a", "1").add(bad).add("GET", "a");
    auto r = wait(c.pipeline(p));
    ASSERT_FALSE(r) << bad.encoded();
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
    EXPECT_NE(r.error().message().find("command 1"), std::string::npos) << r.error().message();
  }
  resp::Pipeline blocking;
  blocking.add("BLPOP", "q", "0");
  auto t = wait(c.transaction(blocking));
  EXPECT_TRUE(t || t.error().code() != Errc::invalid_argument)
      << "a blocking command inside MULTI does not block";
  resp::Pipeline sub;
  sub.add("SUBSCRIBE", "ch");
  auto ts = wait(c.transaction(sub));
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().code(), Errc::invalid_argument);
  resp::Pipeline open_multi;
  open_multi.add("SET", "a", "1").add("MULTI").add("INCR", "a");
  auto om = wait(c.pipeline(open_multi));
  ASSERT_FALSE(om) << "a MULTI left open would queue other callers' commands";
  EXPECT_NE(om.error().message().find("command 1"), std::string::npos) << om.error().message();
  resp::Pipeline fine;
  fine.add("SET", "a", "1").add("XREAD", "STREAMS", "s", "0").add("CLIENT", "SETNAME", "x");
  fine.add("MULTI")
      .add("BLPOP", "q", "0")
      .add("EXEC");  // its own MULTI..EXEC, one write: fine, and never blocks
  auto ok = wait(c.pipeline(fine));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->size(), 6u);
}

// +QUEUED (what a connection inside someone's MULTI answers) is neither a value nor an
// acknowledgement.
TEST(ReplyShape, QueuedIsNeitherAValueNorAnAcknowledgement) {
  FakeServer fake("+QUEUED\r\n");
  SyncClient s(options_for(fake));
  auto v = s.get("k");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), Errc::unexpected_reply);
  auto w = s.set("k", "v");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), Errc::unexpected_reply);
}

}  // namespace
}  // namespace swarmkeeper
