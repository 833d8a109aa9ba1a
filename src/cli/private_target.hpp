// SPDX-License-Identifier: Apache-2.0
// private_target.hpp — where `demo` and `bench` run: a server the user names with --url,
// or a private redis-server started for the occasion (stopped when this goes away).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "net/redis_process.hpp"
#include "swarmkeeper/net/connection_options.hpp"

namespace swarmkeeper::cli {

struct Target {
  ConnectionOptions connection;
  std::unique_ptr<RedisProcess> server;  ///< set when we started one
};

/// Parses url, or starts a private server. On failure prints "swarmkeeper <who>: why" to
/// stderr and returns the exit code (64 bad URL, 1 cannot start) in exit_code.
inline std::optional<Target> open_target(const std::optional<std::string>& url, const char* who,
                                         int& exit_code) {
  Target t;
  if (url) {
    auto o = parse_redis_url(*url);
    if (!o) {
      std::fprintf(stderr, "swarmkeeper %s: --url: %s\n", who, o.error().message().c_str());
      exit_code = 64;
      return std::nullopt;
    }
    t.connection = *o;
    return t;
  }
  auto s = RedisProcess::start();
  if (!s) {
    std::fprintf(stderr, "swarmkeeper %s: %s\n", who, s.error().message().c_str());
    exit_code = 1;
    return std::nullopt;
  }
  t.server = std::move(*s);
  t.connection.port = t.server->port();
  return t;
}

}  // namespace swarmkeeper::cli
