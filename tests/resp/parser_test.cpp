// SPDX-License-Identifier: Apache-2.0
// parser_test.cpp — the RESP parser on every type, in every chunking, and on bad input.
#include "swarmkeeper/resp/parser.hpp"

#include <gtest/gtest.h>

#include "resp/resp_test_util.hpp"

namespace swarmkeeper::resp {
namespace {

using swarmkeeper::testing::parse_in_chunks;

std::string parse_one(std::string_view wire) {
  auto r = parse_in_chunks(wire, {wire.size()});
  if (!r.error.empty()) return "ERROR: " + r.error;
  if (r.replies.size() != 1) return "replies: " + std::to_string(r.replies.size());
  return r.replies[0];
}

TEST(Parser, Resp2Scalars) {
  EXPECT_EQ(parse_one("+OK\r\n"), "\"OK\"");
  EXPECT_EQ(parse_one("-ERR unknown command\r\n"), "(error) ERR unknown command");
  EXPECT_EQ(parse_one(":-42\r\n"), "-42");
  EXPECT_EQ(parse_one(":9223372036854775807\r\n"), "9223372036854775807");
  EXPECT_EQ(parse_one("$3\r\nfoo\r\n"), "\"foo\"");
  EXPECT_EQ(parse_one("$0\r\n\r\n"), "\"\"");
  EXPECT_EQ(parse_one("$-1\r\n"), "null");
  EXPECT_EQ(parse_one("*-1\r\n"), "null");
  EXPECT_EQ(parse_one("*0\r\n"), "[]");
}

TEST(Parser, BulkIsBinarySafe) {
  const std::string payload("a\r\nb\0c", 6);
  std::string wire = "$6\r\n" + payload + "\r\n";
  Parser p;
  ASSERT_EQ(p.feed(wire), Parser::Status::complete);
  EXPECT_EQ(p.view(wire).root().str(), payload);
  EXPECT_EQ(p.consumed(), wire.size());
}

// TIME's reply read one way everywhere: checked, never thrown on.
TEST(Reply, TimeMs) {
  auto time = [](const std::string& wire) {
    Parser p;
    EXPECT_EQ(p.feed(wire), Parser::Status::complete) << wire;
    return time_ms(p.view(wire).root());
  };
  EXPECT_EQ(time("*2\r\n$10\r\n1700000000\r\n$6\r\n123456\r\n"), 1700000000123);
  EXPECT_EQ(time("*2\r\n:1700000000\r\n:999999\r\n"), 1700000000999);
  EXPECT_EQ(time("*2\r\n$1\r\n0\r\n$1\r\n0\r\n"), 0);
  for (const std::string bad : {"*1\r\n$1\r\n1\r\n", "*2\r\n$1\r\nx\r\n$1\r\n0\r\n", "*2\r\n:-1\r\n:0\r\n",
                                "*2\r\n:1\r\n:1000000\r\n", "*2\r\n:9223372036854775807\r\n:0\r\n",
                                "-ERR no\r\n", "$2\r\n12\r\n", "*3\r\n:1\r\n:2\r\n:3\r\n"})
    EXPECT_FALSE(time(bad)) << bad;
}

TEST(Parser, Resp3Types) {
  EXPECT_EQ(parse_one("_\r\n"), "null");
  EXPECT_EQ(parse_one("#t\r\n"), "true");
  EXPECT_EQ(parse_one("#f\r\n"), "false");
  EXPECT_EQ(parse_one(",3.25\r\n"), "3.25");
  EXPECT_EQ(parse_one(",-inf\r\n"), "-inf");
  EXPECT_EQ(parse_one("(3492890328409238509324850943850943825024385\r\n"),
            "3492890328409238509324850943850943825024385");
  EXPECT_EQ(parse_one("!21\r\nSYNTAX invalid syntax\r\n"), "(error) SYNTAX invalid syntax");
  EXPECT_EQ(parse_one("=15\r\ntxt:Some string\r\n"), "\"Some string\"");
  EXPECT_EQ(parse_one("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"), "{\"first\": 1, \"second\": 2}");
  EXPECT_EQ(parse_one("~3\r\n+a\r\n+b\r\n:1\r\n"), "(\"a\", \"b\", 1)");
  EXPECT_EQ(parse_one(">3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n"), "<\"message\", \"chan\", \"hi\">");
}

TEST(Parser, DoubleAndIntegerAccessors) {
  std::string wire = "*3\r\n,1.5e3\r\n:7\r\n$5\r\n12345\r\n";
  Parser p;
  ASSERT_EQ(p.feed(wire), Parser::Status::complete);
  ReplyRef r = p.view(wire).root();
  EXPECT_DOUBLE_EQ(*r[0].as_double(), 1500.0);
  EXPECT_EQ(*r[1].as_integer(), 7);
  EXPECT_EQ(*r[2].as_integer(), 12345);
  EXPECT_FALSE(r[0].as_integer().has_value());
}

TEST(Parser, NestedNavigation) {
  // SCAN-like: ["17", ["a", "b", "c"]], then a map with a nested array value.
  std::string wire = "*2\r\n$2\r\n17\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
  Parser p;
  ASSERT_EQ(p.feed(wire), Parser::Status::complete);
  ReplyRef r = p.view(wire).root();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].str(), "17");
  ASSERT_EQ(r[1].size(), 3u);
  std::string keys;
  for (ReplyRef k : r[1]) keys += k.str();
  EXPECT_EQ(keys, "abc");
  EXPECT_EQ(parse_one("%1\r\n+k\r\n*2\r\n:1\r\n*1\r\n:2\r\n"), "{\"k\": [1, [2]]}");
}

TEST(Parser, AttributesAreDropped) {
  EXPECT_EQ(parse_one("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n"),
            "[2039123, 9543892]");
  EXPECT_EQ(parse_one("*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n"), "[1, 2]");
}

TEST(Parser, EveryChunkingGivesTheSameReplies) {
  const std::string stream =
      "*3\r\n$3\r\nfoo\r\n*2\r\n:1\r\n%1\r\n+k\r\n_\r\n$-1\r\n"
      "+OK\r\n$10\r\n0123456789\r\n>2\r\n+invalidate\r\n*1\r\n$1\r\nx\r\n-ERR x\r\n";
  const auto whole = parse_in_chunks(stream, {stream.size()});
  ASSERT_TRUE(whole.error.empty()) << whole.error;
  ASSERT_EQ(whole.replies.size(), 5u);
  for (std::size_t c = 1; c <= 7; ++c) {
    auto chunked = parse_in_chunks(stream, {c});
    EXPECT_EQ(chunked.replies, whole.replies) << "chunk size " << c;
    EXPECT_TRUE(chunked.error.empty()) << chunked.error;
  }
  EXPECT_EQ(parse_in_chunks(stream, {1, 5, 2, 13, 3}).replies, whole.replies);
}

TEST(Parser, EveryPrefixNeedsMore) {
  const std::string wire = "*2\r\n$5\r\nhello\r\n%1\r\n+a\r\n,1.5\r\n";
  for (std::size_t n = 0; n < wire.size(); ++n) {
    Parser p;
    EXPECT_EQ(p.feed(std::string_view(wire).substr(0, n)), Parser::Status::need_more) << "prefix " << n;
  }
}

TEST(Parser, ConsumedStopsAtReplyEnd) {
  std::string wire = ":1\r\n:2\r\n";
  Parser p;
  ASSERT_EQ(p.feed(wire), Parser::Status::complete);
  EXPECT_EQ(p.consumed(), 4u);
}

TEST(Parser, OwnedReplyOutlivesBuffer) {
  Reply owned;
  {
    std::string wire = "*2\r\n$3\r\nabc\r\n*1\r\n$2\r\nde\r\n";
    Parser p;
    ASSERT_EQ(p.feed(wire), Parser::Status::complete);
    owned = Reply(p.view(wire));
    wire.assign(wire.size(), 'X');
  }
  Reply moved = std::move(owned);
  Reply copy = moved;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test
  EXPECT_EQ(to_string(copy.root()), "[\"abc\", [\"de\"]]");
  EXPECT_EQ(moved[1][0].str(), "de");
}

struct BadInput {
  const char* wire;
  const char* expect;  // substring of the error message
};

class ParserRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(ParserRejects, WithAClearProtocolError) {
  const BadInput& c = GetParam();
  Parser p({.max_depth = 4, .max_bulk_length = 100, .max_aggregate_size = 1000, .max_line_length = 64});
  std::string wire = c.wire;
  ASSERT_EQ(p.feed(wire), Parser::Status::error) << wire;
  EXPECT_EQ(p.error().code(), Errc::protocol_error);
  EXPECT_NE(p.error().message().find(c.expect), std::string::npos) << p.error().message();
  EXPECT_EQ(p.feed(wire), Parser::Status::error);  // sticky until reset
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParserRejects,
    ::testing::Values(BadInput{"?x\r\n", "unknown type byte 0x3f"}, BadInput{":12a\r\n", "bad integer"},
                      BadInput{":\r\n", "bad integer"}, BadInput{":-\r\n", "bad integer"},
                      BadInput{":99999999999999999999\r\n", "bad integer"},
                      BadInput{"$3\r\nfooXY", "not terminated by CRLF"},
                      BadInput{"$-2\r\n", "bad bulk length"}, BadInput{"$101\r\n", "exceeds the limit"},
                      BadInput{"*1001\r\n", "exceeds the limit"},
                      BadInput{"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "nesting deeper"},
                      BadInput{"*?\r\n", "streamed aggregates"}, BadInput{"$?\r\n", "streamed strings"},
                      BadInput{"+OK\rX", "CR not followed by LF"}, BadInput{"#x\r\n", "bad boolean"},
                      BadInput{",1.2.3\r\n", "bad double"}, BadInput{"(12a\r\n", "bad big number"},
                      BadInput{"=2\r\nab\r\n", "verbatim string without a format"},
                      BadInput{"_x\r\n", "null with a payload"}, BadInput{"%-1\r\n", "negative aggregate"},
                      BadInput{
                          "+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                          "longer than"}));

TEST(Parser, HugeDeclaredSizesAllocateNothingUpFront) {
  // A declared 2-billion-element array must not reserve memory; it just waits for data.
  Parser p;
  std::string wire = "*2000000000\r\n:1\r\n";
  EXPECT_EQ(p.feed(wire), Parser::Status::need_more);
  std::string bulk = "$536870912\r\nabc";
  Parser q;
  EXPECT_EQ(q.feed(bulk), Parser::Status::need_more);
}

TEST(Parser, ResetStartsAfresh) {
  Parser p;
  std::string bad = "?\r\n";
  ASSERT_EQ(p.feed(bad), Parser::Status::error);
  p.reset();
  std::string good = "+OK\r\n";
  EXPECT_EQ(p.feed(good), Parser::Status::complete);
}

}  // namespace
}  // namespace swarmkeeper::resp
