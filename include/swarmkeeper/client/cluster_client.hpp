// SPDX-License-Identifier: Apache-2.0
// cluster_client.hpp — a Redis Cluster client: one Client (a multiplexed, auto-pipelined
// pool) per master, commands routed by the slot of their key.
//
// The slot map comes from CLUSTER SLOTS (asked of the seeds, then of any known node)
// and is refreshed on MOVED and every refresh_interval. Redirections:
//   MOVED slot host:port  the map is refreshed and the command retried on that node;
//   ASK slot host:port    ASKING + the command on that node, once, the map unchanged;
//   TRYAGAIN, CLUSTERDOWN backed off and retried within the command timeout.
// At most max_redirects hops per command; then the last error is returned.
//
// Multi-key commands: mget/mset/del/unlink/exists split their keys by slot, send each
// node its parts in one pipelined write, and merge the replies in the caller's order (a
// part that meets a redirection is retried alone). Other commands are routed by their
// first key, or by a key given (command(cmd, key)); keys of one command in different
// slots fail with the server's CROSSSLOT error. Keyless
// commands (SCAN, INFO, DBSIZE, FLUSHALL) go to every master: for_each_master().
//
// Threading: as Client (one executor; coroutine methods may be awaited from it).
//
//   ClusterClient c(io.get_executor(), {.seeds = {{"127.0.0.1", 7000}}});
//   if (auto ok = co_await c.connect(); !ok) ...
//   co_await c.set("user:{42}:name", "ada");
//   auto v = co_await c.get("user:{42}:name");
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/client/cluster_slots.hpp"

namespace swarmkeeper {

struct ClusterOptions {
  /// Options for each node's pool; host and port are replaced per node.
  ClientOptions node;
  /// Nodes to ask for the slot map first (any node of the cluster will do).
  std::vector<std::pair<std::string, std::uint16_t>> seeds;
  /// The slot map is refreshed this often, and after every MOVED. Default 30 s.
  std::chrono::milliseconds refresh_interval{30000};
  /// Redirections and retries a command may take before it fails. Default 5.
  int max_redirects = 5;

  /// From connection options (a redis+cluster:// URL): its host:port and cluster_seeds
  /// are the seeds, the rest configures every node's pool.
  static ClusterOptions from(const ConnectionOptions& connection);
};

class ClusterClient final : public Router {
 public:
  struct Impl;

  ClusterClient(boost::asio::any_io_executor ex, ClusterOptions options);
  ~ClusterClient() override;
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  /// Reads the slot map from the first seed that answers. Fails with the last seed's
  /// error, or unexpected_reply when no seed is a cluster node.
  boost::asio::awaitable<Result<void>> connect();

  // get, set, mget, mset, del, unlink, exists, expire, eval, evalsha, publish: Router's
  // (router.hpp); multi-key ones split by slot, each node's groups in one write, merged
  // in order.

  /// Any command, routed by `routing_key`'s slot (raw, no compression).
  boost::asio::awaitable<Result<resp::Reply>> command(resp::Command cmd, std::string routing_key,
                                                      bool idempotent = false);
  /// Any keyed command, routed by its first key (command_routing_key()); a command with
  /// no key fails with invalid_argument (use for_each_master()).
  boost::asio::awaitable<Result<resp::Reply>> command(resp::Command cmd, bool idempotent = false) override;
  /// A command for one slot on the slot's current master, whatever its arguments (CLUSTER
  /// COUNTKEYSINSLOT / GETKEYSINSLOT). Not redirected: the node answers for itself.
  boost::asio::awaitable<Result<resp::Reply>> command_at_slot(std::uint16_t slot, resp::Command cmd);
  /// A pipeline spanning nodes: each command routed by its first key, each node's share
  /// sent in one write, the replies re-assembled in the caller's order. A command that
  /// meets MOVED/ASK/TRYAGAIN is retried alone (it did not run). Server errors are error
  /// replies in place, as in Client::pipeline; fails as a whole only when a node cannot be
  /// reached (after retrying, if `idempotent`) or a command has no key.
  boost::asio::awaitable<Result<std::vector<resp::Reply>>> pipeline(std::vector<resp::Command> cmds,
                                                                    bool idempotent = false) override;
  /// MULTI, the commands, EXEC on one connection: every key of every command must hash to
  /// one slot, else invalid_argument (CROSSSLOT) before anything is sent. Returns EXEC's reply.
  boost::asio::awaitable<Result<resp::Reply>> transaction(std::vector<resp::Command> cmds) override;
  /// A keyless command on every master; one result per master, in masters() order.
  boost::asio::awaitable<std::vector<Result<resp::Reply>>> for_each_master(resp::Command cmd,
                                                                           bool idempotent = true) override;
  /// The masters of the current slot map. REQUIRES: on the client's executor.
  std::vector<ConnectionOptions> masters() const override;
  boost::asio::awaitable<Result<resp::Reply>> command_at(ConnectionOptions master, resp::Command cmd,
                                                         bool idempotent = true) override;
  /// Every node's pool figures, summed. REQUIRES: on the client's executor.
  ClientMetricsSnapshot metrics() const override;
  boost::asio::any_io_executor executor() const override;
  /// Every node's pool options (ClusterOptions::node).
  const ClientOptions& options() const noexcept override;

  /// The current slot map. REQUIRES: on the client's executor.
  const SlotMap& slots() const;
  /// Redirections seen so far (MOVED, ASK) and slot map refreshes.
  std::uint64_t moved() const noexcept;
  std::uint64_t asked() const noexcept;
  std::uint64_t refreshes() const noexcept;
  /// Reads the slot map again now (what connect() does).
  boost::asio::awaitable<Result<void>> refresh() override;
  /// Closes every node's pool.
  void close() override;

 protected:
  boost::asio::awaitable<Result<resp::Reply>> typed(resp::Command cmd, std::string_view key, Op op,
                                                    bool idempotent) override;
  boost::asio::awaitable<Result<void>> per_group(std::string_view name, Op op,
                                                 const std::vector<std::string>& keys,
                                                 const std::vector<std::string>* values, bool idempotent,
                                                 MergeGroup merge) override;
  ValueCodec* codec() override;

 private:
  std::shared_ptr<Impl> impl_;
};

// (A MOVED or ASK redirection is Error::redirect(), parsed where the reply is read:
// swarmkeeper/error.hpp.)

/// The key a command is routed by: its first key (EVAL/EVALSHA/FCALL: the first of
/// KEYS; OBJECT/MEMORY/XINFO subcommands: the key after the subcommand; XREAD/XREADGROUP:
/// the first stream), or nullopt for a keyless command (PING, INFO, SCAN, KEYS, ...).
std::optional<std::string_view> command_routing_key(const resp::Command& cmd);
/// Every key of a command, as far as command_routing_key() knows its shape (the
/// multi-key commands: MGET, DEL, UNLINK, EXISTS, TOUCH, WATCH, MSET, EVAL*, FCALL*).
std::vector<std::string_view> command_keys(const resp::Command& cmd);

}  // namespace swarmkeeper
