// SPDX-License-Identifier: Apache-2.0
// target.hpp — where the cleanup sends its keyed commands: one server (a connection) or
// a Redis Cluster (routed by each command's first key, cluster_client.hpp). The lock,
// the heartbeat reads and the audit stream go through it, so they read the same on both.
//
// Threading: the executor the target was made on only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <vector>

#include "net/connection.hpp"
#include "swarmkeeper/cluster_client.hpp"

namespace swarmkeeper::coord {

class Target {
 public:
  virtual ~Target() = default;
  /// One command (on a cluster: on its first key's master; a keyless one is refused).
  virtual boost::asio::awaitable<Result<resp::Reply>> exec(const resp::Command& cmd) = 0;
  /// Commands in one write per server, replies in order; server errors are error replies.
  virtual boost::asio::awaitable<Result<std::vector<resp::Reply>>> exec(std::vector<resp::Command> cmds) = 0;
  virtual bool is_open() const = 0;
  /// A usable target after this one's connection died (the same one when it reconnects
  /// by itself), or the error that prevents it.
  virtual boost::asio::awaitable<Result<std::shared_ptr<Target>>> reopen() = 0;
  virtual void close() = 0;
};

/// One server, over one connection.
std::shared_ptr<Target> node_target(boost::asio::any_io_executor ex, std::shared_ptr<net::Connection> conn,
                                    ConnectionOptions options);
/// A cluster, through its client (shared: the cleanup uses it directly too).
std::shared_ptr<Target> cluster_target(std::shared_ptr<ClusterClient> client);

}  // namespace swarmkeeper::coord
