// SPDX-License-Identifier: Apache-2.0
// ascii.hpp — case-insensitive matching of command names and keywords (ASCII only, as
// Redis compares them).
#pragma once

#include <cctype>
#include <string_view>

namespace swarmkeeper::client_detail {

/// Whether `s` equals `upper` (given in capitals), ignoring the case of `s`.
inline bool equals_upper(std::string_view s, std::string_view upper) noexcept {
  if (s.size() != upper.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != upper[i]) return false;
  return true;
}

}  // namespace swarmkeeper::client_detail
