// SPDX-License-Identifier: Apache-2.0
// glob.hpp — Redis' glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE), with no I/O: matching
// a key against a pattern as the server does, and escaping a literal so a pattern
// matches exactly it.
//
//   glob_match("bull:*:wait", "bull:mail:wait");     // true
//   glob_escape("c*[x]?:") + "*"                     // every key starting with "c*[x]?:"
#pragma once

#include <string>
#include <string_view>

namespace swarmkeeper {

/// True when `text` matches `pattern`: *, ?, [...], [^...], [a-z], and \x for a literal x.
bool glob_match(std::string_view pattern, std::string_view text);

/// Escapes glob metacharacters (*, ?, [, ], \) so a literal prefix can go in SCAN MATCH.
std::string glob_escape(std::string_view literal);

}  // namespace swarmkeeper
