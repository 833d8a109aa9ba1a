// SPDX-License-Identifier: Apache-2.0
// server_info.hpp — figures read from Redis' INFO text, and whether a server is a
// cluster node.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <charconv>
#include <string_view>

#include "net/connection.hpp"

namespace swarmkeeper::coord {

/// used_cpu_sys + used_cpu_user from an INFO (or INFO cpu) reply, in seconds; 0 if absent.
inline double info_cpu_seconds(std::string_view info) {
  double total = 0;
  for (std::string_view field : {"used_cpu_sys:", "used_cpu_user:"}) {
    auto at = info.find(field);
    if (at == std::string_view::npos) continue;
    at += field.size();
    const auto end = info.find_first_of("\r\n", at);
    double v = 0;
    std::from_chars(info.data() + at, info.data() + (end == std::string_view::npos ? info.size() : end), v);
    total += v;
  }
  return total;
}

/// Whether an INFO (or INFO cluster) reply says the server runs in cluster mode.
inline bool info_says_cluster(std::string_view info) { return info.find("cluster_enabled:1") != std::string_view::npos; }

/// Whether the server on `conn` is a cluster node: INFO says so; where the ACL refuses
/// INFO, CLUSTER INFO answering does (a server without cluster support refuses it).
inline boost::asio::awaitable<bool> is_cluster_node(net::Connection& conn) {
  bool cluster = false;
  if (auto info = co_await conn.exec(resp::Command("INFO").arg("cluster")); info && info->root().is_string())
    cluster = info_says_cluster(info->str());
  else if (auto ci = co_await conn.exec(resp::Command("CLUSTER").arg("INFO")); ci)
    cluster = true;
  co_return cluster;
}

}  // namespace swarmkeeper::coord
