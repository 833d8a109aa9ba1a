// SPDX-License-Identifier: Apache-2.0
// server_info.hpp — figures read from Redis' INFO text, and whether a server is a
// cluster node.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string_view>

#include "net/connection.hpp"
#include "net/info_text.hpp"

namespace swarmkeeper::coord {

using net::info_cpu_seconds;
using net::info_says_cluster;

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
