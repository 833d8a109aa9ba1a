// SPDX-License-Identifier: Apache-2.0
// encoder_test.cpp — commands go out byte for byte, and parse back to the same argv.
#include "swarmkeeper/resp/encoder.hpp"

#include <gtest/gtest.h>

#include "swarmkeeper/resp/parser.hpp"

namespace swarmkeeper::resp {
namespace {

TEST(Encoder, EncodesArgvAsBulkStrings) {
  Command c("SET");
  c.arg("key").arg("").arg(-12).arg(std::uint64_t{18446744073709551615u});
  EXPECT_EQ(c.encoded(),
            "*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n$3\r\n-12\r\n$20\r\n18446744073709551615\r\n");
  EXPECT_EQ(c.argc(), 5u);
}

TEST(Encoder, BinaryAndLargeArgumentsRoundTrip) {
  const std::string binary("\r\n\0*$\xff", 6);
  const std::string large(3 * 1024 * 1024 + 7, 'x');
  std::string wire;
  append_command(wire, {"SET", binary, large});
  Parser p;
  ASSERT_EQ(p.feed(wire), Parser::Status::complete);
  ReplyRef r = p.view(wire).root();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].str(), binary);
  EXPECT_EQ(r[2].str(), large);
  EXPECT_EQ(p.consumed(), wire.size());
}

TEST(Encoder, PipelineConcatenatesCommands) {
  Pipeline p;
  p.add("GET", "a").add("INCRBY", "n", 5);
  EXPECT_EQ(p.size(), 2u);
  EXPECT_EQ(p.buffer(), "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$1\r\n5\r\n");
}

}  // namespace
}  // namespace swarmkeeper::resp
