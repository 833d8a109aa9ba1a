// SPDX-License-Identifier: Apache-2.0
// encoder.cpp — RESP command encoding (see encoder.hpp).
#include "swarmkeeper/resp/encoder.hpp"

namespace swarmkeeper::resp {

void append_header(std::string& out, char marker, std::size_t n) {
  char tmp[24];
  tmp[0] = marker;
  auto [end, ec] = std::to_chars(tmp + 1, tmp + sizeof tmp - 2, n);
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  out.append(tmp, static_cast<std::size_t>(end - tmp));
}

void append_bulk(std::string& out, std::string_view data) {
  append_header(out, '$', data.size());
  out.append(data);
  out.append("\r\n", 2);
}

void append_command(std::string& out, std::span<const std::string_view> argv) {
  append_header(out, '*', argv.size());
  for (std::string_view a : argv) append_bulk(out, a);
}

}  // namespace swarmkeeper::resp
