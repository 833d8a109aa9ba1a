// SPDX-License-Identifier: Apache-2.0
// resp_test_util.hpp — helpers shared by the RESP tests: feed a parser the way a
// connection does (growing buffer, consume completed replies).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/resp/parser.hpp"

namespace swarmkeeper::testing {

struct ParsedStream {
  std::vector<std::string> replies;  // to_string() of each complete reply, in order
  std::string error;                 // non-empty when the parser rejected the stream
};

// Feeds `stream` to a Parser in chunks of the given sizes (cycled), like a socket would.
inline ParsedStream parse_in_chunks(std::string_view stream, const std::vector<std::size_t>& chunks,
                                    resp::ParserLimits limits = {}) {
  ParsedStream out;
  resp::Parser parser(limits);
  std::string buf;
  std::size_t at = 0, chunk = 0;
  while (at < stream.size()) {
    const std::size_t n = std::min(chunks[chunk++ % chunks.size()], stream.size() - at);
    buf.append(stream.substr(at, n));
    at += n;
    for (;;) {
      auto st = parser.feed(buf);
      if (st == resp::Parser::Status::error) {
        out.error = parser.error().message();
        return out;
      }
      if (st == resp::Parser::Status::need_more) break;
      out.replies.push_back(resp::to_string(parser.view(buf).root()));
      buf.erase(0, parser.consumed());
      parser.reset();
    }
  }
  return out;
}

}  // namespace swarmkeeper::testing
