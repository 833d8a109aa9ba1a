// SPDX-License-Identifier: Apache-2.0
// command_rules.hpp — which commands a pooled, multiplexed connection can carry, which
// block the connection they run on, and the shapes of the replies the typed commands and
// SCAN expect. No I/O.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/resp/encoder.hpp"
#include "swarmkeeper/resp/reply.hpp"

namespace swarmkeeper::client_detail {

/// Commands that may block the connection they run on (BLPOP, WAIT, XREAD ... BLOCK, ...).
bool is_blocking(const resp::CommandView& cmd);
/// Why a shared connection cannot carry cmd (its replies do not come one per command,
/// or it changes the connection for every caller on it), naming the API to use; "" if
/// it can. MULTI/EXEC/DISCARD count as such alone: transaction() sends them in one write.
std::string not_multiplexable(const resp::CommandView& cmd);

/// A stored value as GET/MGET return it: a bulk (or verbatim) string. A simple string
/// such as +QUEUED, an integer or an aggregate is not one.
template <class R>
bool is_value(const R& r) {
  return r.type() == resp::Type::bulk_string || r.type() == resp::Type::verbatim_string;
}
/// SET's and MSET's acknowledgement: +OK, nothing else.
template <class R>
bool is_ok(const R& r) {
  return r.type() == resp::Type::simple_string && r.str() == "OK";
}

/// A reply a typed command did not expect, as unexpected_reply: "<what> returned <reply>".
Error unexpected(std::string_view what, const resp::Reply& r);

/// SCAN <cursor> [MATCH <match>] COUNT <count>, and its reply read as {next cursor, keys}.
resp::Command scan_command(const std::string& cursor, const std::string& match, std::size_t count);
Result<std::pair<std::string, std::vector<std::string>>> scan_page(const resp::Reply& r);

}  // namespace swarmkeeper::client_detail
