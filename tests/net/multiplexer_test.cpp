// SPDX-License-Identifier: Apache-2.0
// multiplexer_test.cpp — the connection's bookkeeping with made-up bytes: no sockets.
#include "net/multiplexer.hpp"

#include <gtest/gtest.h>

namespace swarmkeeper::net {
namespace {

struct Recorded {
  std::vector<std::string> replies;
  bool done = false;
  Error error;
};

void record(void* ctx, const resp::ReplyView& v) {
  static_cast<Recorded*>(ctx)->replies.push_back(resp::to_string(v.root()));
}
void mark_done(Request* r) {
  auto* rec = static_cast<Recorded*>(r->owner);
  rec->done = true;
  rec->error = r->error;
}

Request make(Recorded& rec, std::string_view payload, std::size_t expected) {
  Request r;
  r.payload = payload;
  r.expected = expected;
  r.sink = ReplySink{&rec, &record};
  r.on_done = &mark_done;
  r.owner = &rec;
  return r;
}

TEST(Multiplexer, StagedRequestsCoalesceIntoOneWrite) {
  Multiplexer m;
  Recorded a, b;
  Request ra = make(a, "*1\r\n$4\r\nPING\r\n", 1), rb = make(b, "PAYLOAD-B", 2);
  m.enqueue(&ra);
  m.enqueue(&rb);
  ASSERT_TRUE(m.has_staged());
  const auto& pieces = m.prepare_write();
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[1], "PAYLOAD-B");
  EXPECT_FALSE(m.has_staged());
  EXPECT_EQ(m.in_flight(), 2u);
}

TEST(Multiplexer, RepliesGoToRequestsInOrderAcrossChunks) {
  Multiplexer m;
  Recorded a, b;
  Request ra = make(a, "x", 1), rb = make(b, "y", 2);
  m.enqueue(&ra);
  m.enqueue(&rb);
  m.prepare_write();
  const std::string wire = "+PONG\r\n:1\r\n$3\r\nabc\r\n";
  for (char c : wire) {  // one byte at a time, as a slow socket would
    m.read_buffer().push_back(c);
    ASSERT_TRUE(m.on_read());
  }
  EXPECT_TRUE(a.done);
  EXPECT_EQ(a.replies, std::vector<std::string>{"\"PONG\""});
  EXPECT_TRUE(b.done);
  EXPECT_EQ(b.replies, (std::vector<std::string>{"1", "\"abc\""}));
  EXPECT_FALSE(m.has_in_flight());
  EXPECT_TRUE(m.read_buffer().empty());
}

TEST(Multiplexer, ARequestExpectingNoReplyCompletesOnceWritten) {
  Multiplexer m;
  Recorded sub, next;
  Request rs = make(sub, "*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n", 0), rn = make(next, "x", 1);
  m.enqueue(&rs);
  m.enqueue(&rn);
  m.prepare_write();
  EXPECT_FALSE(sub.done) << "not before the write completed";
  m.on_written();
  EXPECT_TRUE(sub.done);
  EXPECT_FALSE(next.done);
  m.read_buffer() = "+OK\r\n";
  ASSERT_TRUE(m.on_read());
  EXPECT_EQ(next.replies, std::vector<std::string>{"\"OK\""})
      << "the reply goes to the request that expects one";
}

TEST(Multiplexer, PushMessagesBypassRequests) {
  Multiplexer m;
  std::vector<std::string> pushes;
  m.push_handler = [&](const resp::ReplyView& v) { pushes.push_back(resp::to_string(v.root())); };
  Recorded a;
  Request ra = make(a, "x", 1);
  m.enqueue(&ra);
  m.prepare_write();
  m.read_buffer() = ">2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n+OK\r\n";
  auto n = m.on_read();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(pushes, std::vector<std::string>{"<\"invalidate\", [\"k\"]>"});
  EXPECT_EQ(a.replies, std::vector<std::string>{"\"OK\""});
}

TEST(Multiplexer, UnsolicitedReplyAndGarbageAreProtocolErrors) {
  Multiplexer m;
  m.read_buffer() = "+OK\r\n";
  auto r = m.on_read();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::protocol_error);

  Multiplexer g;
  Recorded a;
  Request ra = make(a, "x", 1);
  g.enqueue(&ra);
  g.prepare_write();
  g.read_buffer() = "hello\r\n";
  auto bad = g.on_read();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("invalid RESP"), std::string::npos);
}

TEST(Multiplexer, FailAllCompletesEveryRequestAndLaterOnes) {
  Multiplexer m;
  Recorded a, b, c;
  Request ra = make(a, "x", 1), rb = make(b, "y", 1), rc = make(c, "z", 1);
  m.enqueue(&ra);
  m.prepare_write();
  m.enqueue(&rb);
  m.fail_all(Error(Errc::connection_lost, "gone"));
  EXPECT_TRUE(a.done);
  EXPECT_TRUE(b.done);
  EXPECT_EQ(a.error.code(), Errc::connection_lost);
  EXPECT_EQ(b.error.code(), Errc::connection_lost);
  m.enqueue(&rc);
  EXPECT_TRUE(c.done);
  EXPECT_EQ(c.error.code(), Errc::connection_lost);
  EXPECT_FALSE(m.has_staged());
}

}  // namespace
}  // namespace swarmkeeper::net
