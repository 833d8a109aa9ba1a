// SPDX-License-Identifier: Apache-2.0
// command_rules.cpp — see command_rules.hpp.
#include "client/command_rules.hpp"

#include "client/ascii.hpp"

namespace swarmkeeper::client_detail {

// Commands that may block the connection they run on.
bool is_blocking(const resp::CommandView& cmd) {
  const std::string_view name = cmd.name();
  for (std::string_view b : {"BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX",
                             "BZMPOP", "WAIT", "WAITAOF"})
    if (equals_upper(name, b)) return true;
  if (equals_upper(name, "XREAD") || equals_upper(name, "XREADGROUP"))
    for (std::size_t i = 1; i < cmd.argc(); ++i)
      if (equals_upper(cmd.arg_at(i), "BLOCK")) return true;
  return false;
}

// Commands a pooled, multiplexed connection cannot carry: their replies do not come one
// per command, or they change the connection for everyone on it. "" if cmd is fine.
std::string not_multiplexable(const resp::CommandView& cmd) {
  if (cmd.argc() == 0 || cmd.name().empty())
    return "an empty command gets no reply from Redis: nothing to wait for";
  const std::string_view name = cmd.name();
  for (std::string_view s :
       {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"})
    if (equals_upper(name, s))
      return std::string(s) + " turns the connection into a subscriber: use subscribe()";
  for (std::string_view s : {"MONITOR", "RESET", "QUIT"})
    if (equals_upper(name, s))
      return std::string(s) + " changes or ends the connection for every caller on it: use lease()";
  if (equals_upper(name, "CLIENT") && cmd.argc() > 1 && equals_upper(cmd.arg_at(1), "REPLY"))
    return "CLIENT REPLY changes which commands get replies on a shared connection: use lease()";
  for (std::string_view s : {"MULTI", "EXEC", "DISCARD"})
    if (equals_upper(name, s))
      return std::string(s) +
             " alone would queue other callers' commands on the shared connection: use transaction()";
  for (std::string_view s : {"WATCH", "UNWATCH"})
    if (equals_upper(name, s))
      return std::string(s) + " marks the shared connection for every caller on it: use lease()";
  for (std::string_view s : {"HELLO", "AUTH", "SELECT"})
    if (equals_upper(name, s))
      return std::string(s) +
             " changes the shared connection's protocol, user or database: set it in ConnectionOptions, "
             "or use lease()";
  return "";
}

}  // namespace swarmkeeper::client_detail
