// SPDX-License-Identifier: Apache-2.0
// resp_parser_fuzz.cpp — libFuzzer target for the RESP parser.
//
// The first input byte picks a chunk size; the rest is fed to the parser in chunks of
// that size, the way a socket delivers it. Checks, beyond "no crash, no UB, no leak":
// chunked parsing yields the same replies (and the same accept/reject verdict) as
// parsing the whole buffer at once, and consumed() never exceeds the bytes given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/resp/parser.hpp"

namespace {

struct Outcome {
  std::vector<std::string> replies;
  bool error = false;
};

Outcome run(std::string_view data, std::size_t chunk) {
  swarmkeeper::resp::ParserLimits limits;
  limits.max_bulk_length = 1 << 20;
  limits.max_depth = 16;
  swarmkeeper::resp::Parser p(limits);
  Outcome out;
  std::string buf;
  for (std::size_t at = 0; at < data.size();) {
    const std::size_t n = std::min(chunk, data.size() - at);
    buf.append(data.substr(at, n));
    at += n;
    for (;;) {
      auto st = p.feed(buf);
      if (st == swarmkeeper::resp::Parser::Status::error) {
        out.error = true;
        return out;
      }
      if (st == swarmkeeper::resp::Parser::Status::need_more) break;
      if (p.consumed() == 0 || p.consumed() > buf.size()) std::abort();
      out.replies.push_back(swarmkeeper::resp::to_string(p.view(buf).root()));
      buf.erase(0, p.consumed());
      p.reset();
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 16;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Outcome whole = run(input, input.size() + 1);
  Outcome chunked = run(input, chunk);
  // A stream rejected in whole may be rejected at a later point when chunked, after
  // more complete replies, never fewer; the replies both saw must agree.
  const std::size_t common = std::min(whole.replies.size(), chunked.replies.size());
  for (std::size_t i = 0; i < common; ++i)
    if (whole.replies[i] != chunked.replies[i]) std::abort();
  if (whole.error != chunked.error) std::abort();
  if (!whole.error && whole.replies.size() != chunked.replies.size()) std::abort();
  return 0;
}
