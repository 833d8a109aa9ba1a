// SPDX-License-Identifier: Apache-2.0
// command_keys.cpp — which arguments of a command are keys (cluster_client.hpp): what a
// cluster routes a command by, and what must share one slot.
#include <charconv>

#include "client/ascii.hpp"
#include "swarmkeeper/client/cluster_client.hpp"

namespace swarmkeeper {

namespace {

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return u;
}

bool keyless(const std::string& name) {
  static const char* const kKeyless[] = {
      "PING",      "INFO",       "SCAN",        "KEYS",         "DBSIZE",       "FLUSHALL", "FLUSHDB",
      "TIME",      "CLUSTER",    "CLIENT",      "CONFIG",       "SCRIPT",       "SLOWLOG",  "LATENCY",
      "COMMAND",   "HELLO",      "AUTH",        "SELECT",       "ECHO",         "MULTI",    "EXEC",
      "DISCARD",   "UNWATCH",    "ASKING",      "READONLY",     "READWRITE",    "ACL",      "MONITOR",
      "RANDOMKEY", "LASTSAVE",   "SAVE",        "BGSAVE",       "BGREWRITEAOF", "WAIT",     "PUBLISH",
      "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "FUNCTION",     "DEBUG",    "SHUTDOWN",
      "ROLE",      "SWAPDB",     "MODULE",      "RESET",        "QUIT",         "LOLWUT",   "PUBSUB",
      "FAILOVER",  "REPLICAOF"};
  for (const char* k : kKeyless)
    if (name == k) return true;
  return false;
}

}  // namespace

std::vector<std::string_view> command_keys(const resp::Command& cmd) {
  std::vector<std::string_view> keys;
  const std::size_t argc = cmd.argc();
  if (argc < 2) return keys;
  const std::string name = upper(cmd.name());
  if (keyless(name)) return keys;
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" || name == "FCALL" ||
      name == "FCALL_RO") {
    std::size_t n = 0;
    const std::string_view num = cmd.arg_at(2);
    if (std::from_chars(num.data(), num.data() + num.size(), n).ec != std::errc{}) return keys;
    for (std::size_t i = 3; i < argc && i < 3 + n; ++i) keys.push_back(cmd.arg_at(i));
    return keys;
  }
  if (name == "MGET" || name == "DEL" || name == "UNLINK" || name == "EXISTS" || name == "TOUCH" ||
      name == "WATCH") {
    for (std::size_t i = 1; i < argc; ++i) keys.push_back(cmd.arg_at(i));
    return keys;
  }
  if (name == "MSET" || name == "MSETNX") {
    for (std::size_t i = 1; i < argc; i += 2) keys.push_back(cmd.arg_at(i));
    return keys;
  }
  if (name == "OBJECT" || name == "MEMORY" || name == "XINFO") {
    if (argc > 2) keys.push_back(cmd.arg_at(2));
    return keys;
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (std::size_t i = 1; i < argc; ++i)
      if (client_detail::equals_upper(cmd.arg_at(i), "STREAMS")) {
        const std::size_t streams = (argc - i - 1) / 2;
        for (std::size_t j = 0; j < streams; ++j) keys.push_back(cmd.arg_at(i + 1 + j));
        break;
      }
    return keys;
  }
  keys.push_back(cmd.arg_at(1));
  return keys;
}

std::optional<std::string_view> command_routing_key(const resp::Command& cmd) {
  auto keys = command_keys(cmd);
  if (keys.empty()) return std::nullopt;
  return keys.front();
}

}  // namespace swarmkeeper
