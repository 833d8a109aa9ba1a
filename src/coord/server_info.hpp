// SPDX-License-Identifier: Apache-2.0
// server_info.hpp — figures read from Redis' INFO text, and whether a server is a
// cluster node.
#pragma once

#include "net/connection.hpp"
#include "net/info_text.hpp"

namespace swarmkeeper::coord {

using net::info_cpu_seconds;
using net::info_says_cluster;
using net::is_cluster_node;

}  // namespace swarmkeeper::coord
