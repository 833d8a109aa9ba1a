// SPDX-License-Identifier: Apache-2.0
// sync_router.hpp — a Router (router.hpp: one server or a cluster; a plain URL to a
// cluster node gives the whole cluster) on an I/O thread of its own, with blocking calls,
// for code outside coroutines: the monitor's collectors, inspect, and SyncClient (the
// public face of it, client.hpp).
//
// Redis unreachable at first is no error: open() is tried again on use, at most once a
// second, and whether it is a cluster is learnt when it first answers. Until then the
// one master is the configured address.
//
// Threading: every method may be called from any thread; the router runs on the link's
// I/O thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/client/router.hpp"

namespace swarmkeeper {

class SyncRouter {
 public:
  struct Master {
    std::string name;  ///< "host:port" on a cluster (the node label); "" on one server
    ConnectionOptions connection;
  };

  explicit SyncRouter(ClientOptions options);
  ~SyncRouter();
  SyncRouter(const SyncRouter&) = delete;
  SyncRouter& operator=(const SyncRouter&) = delete;

  /// Opens the router unless it is open: the error while Redis has never answered (the
  /// last attempt's, when one was made less than a second ago). A caller arriving while
  /// another thread opens it waits for that attempt.
  Result<void> open();
  bool is_open() const noexcept { return open_.load(); }
  bool cluster() const noexcept { return cluster_.load(); }
  /// The masters now (a cluster: as of its last slot map).
  std::vector<Master> masters();
  /// A command on one master (SCAN, INFO, TIME, PING of that server).
  Result<resp::Reply> at(const Master& m, resp::Command cmd);
  /// One SCAN page of one master (Router::scan_at): {next cursor, keys}.
  Result<std::pair<std::string, std::vector<std::string>>> scan(const Master& m, std::string cursor,
                                                                std::size_t count);
  /// A command routed by its key (a keyless one goes to the one server; on a cluster it
  /// is refused). idempotent: may be sent again after a lost connection.
  Result<resp::Reply> command(resp::Command cmd, bool idempotent = true);
  /// The same, without waiting: many in flight go out together.
  std::future<Result<resp::Reply>> command_async(resp::Command cmd, bool idempotent = true);
  /// The router's typed GET and SET (values compressed as configured).
  Result<Router::Value> get(std::string key);
  Result<void> set(std::string key, std::string value, std::chrono::milliseconds ttl);
  /// The router, opened if need be (as open()); its coroutine methods are for its executor.
  Result<std::shared_ptr<Router>> opened();
  /// A cluster: reads its masters again (a failover may have promoted a replica).
  void refresh();
  /// The link's own client figures (a cluster: every node's, summed).
  ClientMetricsSnapshot metrics();
  /// Fails every command in flight (Errc::cancelled) and every later one: for a prompt
  /// stop while a server stalls.
  void close();

 private:
  struct State;
  std::shared_ptr<Router> router();  // null until open
  std::unique_ptr<State> s_;
  std::atomic<bool> open_{false}, cluster_{false};
};

}  // namespace swarmkeeper
