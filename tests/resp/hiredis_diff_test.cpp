// SPDX-License-Identifier: Apache-2.0
// hiredis_diff_test.cpp — differential test: our parser and hiredis' reader (the
// reference RESP2 implementation) must produce the same replies from the same random
// RESP2 streams, however the streams are split.
#include <hiredis/hiredis.h>

#include <gtest/gtest.h>

#include <random>

#include "resp/resp_test_util.hpp"
#include "swarmkeeper/resp/encoder.hpp"

namespace swarmkeeper::resp {
namespace {

// Renders a hiredis reply in the format of resp::to_string.
void render(const redisReply* r, std::string& out) {
  auto quote = [&](const char* s, size_t n) {
    out += '"';
    for (size_t i = 0; i < n; ++i) {
      char c = s[i];
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        out += "\\x";
        out += "0123456789abcdef"[(c >> 4) & 0xf];
        out += "0123456789abcdef"[c & 0xf];
      } else
        out += c;
    }
    out += '"';
  };
  switch (r->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING: quote(r->str, r->len); break;
    case REDIS_REPLY_ERROR:
      out += "(error) ";
      out.append(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER: out += std::to_string(r->integer); break;
    case REDIS_REPLY_NIL: out += "null"; break;
    case REDIS_REPLY_ARRAY:
      out += '[';
      for (size_t i = 0; i < r->elements; ++i) {
        if (i) out += ", ";
        render(r->element[i], out);
      }
      out += ']';
      break;
    default: out += "?"; break;
  }
}

std::vector<std::string> hiredis_parse(std::string_view stream, std::mt19937& rng) {
  std::vector<std::string> out;
  redisReader* reader = redisReaderCreate();
  std::uniform_int_distribution<size_t> chunk(1, 64);
  for (size_t at = 0; at < stream.size();) {
    size_t n = std::min(chunk(rng), stream.size() - at);
    EXPECT_EQ(redisReaderFeed(reader, stream.data() + at, n), REDIS_OK);
    at += n;
    void* reply = nullptr;
    while (redisReaderGetReply(reader, &reply) == REDIS_OK && reply != nullptr) {
      std::string s;
      render(static_cast<redisReply*>(reply), s);
      out.push_back(std::move(s));
      freeReplyObject(reply);
      reply = nullptr;
    }
  }
  redisReaderFree(reader);
  return out;
}

// Appends one random RESP2 reply to out (depth-limited: hiredis 0.14 nests up to 7).
void random_reply(std::mt19937& rng, std::string& out, int depth) {
  std::uniform_int_distribution<int> kind(0, depth >= 4 ? 5 : 7);
  auto random_bytes = [&](size_t max) {
    std::uniform_int_distribution<size_t> len(0, max);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string s(len(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    return s;
  };
  auto random_line = [&](size_t max) {
    std::string s = random_bytes(max);
    for (char& c : s)
      if (c == '\r' || c == '\n') c = ' ';
    return s;
  };
  switch (kind(rng)) {
    case 0: out += "+" + random_line(20) + "\r\n"; break;
    case 1: out += "-ERR " + random_line(30) + "\r\n"; break;
    case 2:
      out += ":" +
             std::to_string(std::uniform_int_distribution<std::int64_t>(INT64_MIN + 1, INT64_MAX)(rng)) +
             "\r\n";
      break;
    case 3: append_bulk(out, random_bytes(100)); break;
    case 4: out += "$-1\r\n"; break;
    case 5:
      append_bulk(out, random_bytes(std::uniform_int_distribution<int>(0, 9)(rng) == 0 ? 5000 : 8));
      break;
    case 6: out += "*-1\r\n"; break;
    default: {
      size_t n = std::uniform_int_distribution<size_t>(0, 6)(rng);
      append_header(out, '*', n);
      for (size_t i = 0; i < n; ++i) random_reply(rng, out, depth + 1);
    }
  }
}

TEST(HiredisDifferential, RandomStreamsSplitAtRandomPointsParseTheSame) {
  std::mt19937 rng(20261122);
  size_t total_replies = 0;
  for (int round = 0; round < 300; ++round) {
    std::string stream;
    const int n = std::uniform_int_distribution<int>(1, 40)(rng);
    for (int i = 0; i < n; ++i) random_reply(rng, stream, 0);

    const auto theirs = hiredis_parse(stream, rng);
    std::vector<size_t> chunks;
    for (int i = 0; i < 16; ++i) chunks.push_back(std::uniform_int_distribution<size_t>(1, 97)(rng));
    const auto ours = swarmkeeper::testing::parse_in_chunks(stream, chunks);
    ASSERT_TRUE(ours.error.empty()) << ours.error;
    ASSERT_EQ(ours.replies.size(), static_cast<size_t>(n));
    ASSERT_EQ(ours.replies, theirs) << "round " << round;
    total_replies += ours.replies.size();
  }
  EXPECT_GT(total_replies, 3000u);
}

}  // namespace
}  // namespace swarmkeeper::resp
