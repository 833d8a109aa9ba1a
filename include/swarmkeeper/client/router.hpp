// SPDX-License-Identifier: Apache-2.0
// router.hpp — "send this command to where it belongs", for one server or a Redis Cluster.
//
// Router is what Client (one server, client.hpp) and ClusterClient (cluster_client.hpp)
// have in common: a command routed by its first key, a pipeline, a transaction, and a
// keyless command on every master. The typed commands below and value compression are
// written once, here, against those; a multi-key command is sent as one command per
// group of keys that may share one (one server: all of them; a cluster: one per slot,
// each node's groups in one write) and the replies merged in the caller's order.
//
// open_router() opens the right one from connection options: a cluster for a
// redis+cluster:// URL or a plain URL that names a cluster node, else one server. Code
// written against Router runs unchanged on both.
//
//   auto router = co_await open_router(io.get_executor(), options);   // one server or a cluster
//   if (!router) ...
//   co_await (*router)->set("user:{42}:name", "ada");
//   auto n = co_await (*router)->del({"a", "b", "c"});              // split by slot on a cluster
//   for (auto& r : co_await (*router)->for_each_master(resp::Command("DBSIZE"))) ...
//
// Threading: as the client behind it (one executor; coroutine methods may be awaited
// from another executor or thread on Client, from its own executor on ClusterClient).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "swarmkeeper/client/client_metrics.hpp"
#include "swarmkeeper/client/compression.hpp"
#include "swarmkeeper/error.hpp"
#include "swarmkeeper/net/connection_options.hpp"
#include "swarmkeeper/resp/encoder.hpp"
#include "swarmkeeper/resp/reply.hpp"

namespace swarmkeeper {

struct ClientOptions;

class Router {
 public:
  using Value = std::optional<std::string>;  ///< nullopt: the key does not exist

  /// What a typed command is, for the client's per-command metrics.
  enum class Op { get, set, del, unlink, exists, mget, mset, expire, eval, evalsha, publish };

  virtual ~Router() = default;

  // --- Typed commands: values compressed and decompressed when compression is on. ---

  boost::asio::awaitable<Result<Value>> get(std::string key);
  /// SET, with PX ttl when ttl > 0; a negative ttl is refused (invalid_argument).
  boost::asio::awaitable<Result<void>> set(std::string key, std::string value,
                                           std::chrono::milliseconds ttl = std::chrono::milliseconds(0));
  boost::asio::awaitable<Result<std::vector<Value>>> mget(std::vector<std::string> keys);
  boost::asio::awaitable<Result<void>> mset(std::vector<std::pair<std::string, std::string>> pairs);
  /// Keys removed (DEL / UNLINK) or present (EXISTS), summed over every group. With no
  /// keys (mget, mset, del, unlink, exists alike) nothing is sent: empty, or 0.
  boost::asio::awaitable<Result<std::int64_t>> del(std::vector<std::string> keys);
  boost::asio::awaitable<Result<std::int64_t>> unlink(std::vector<std::string> keys);
  boost::asio::awaitable<Result<std::int64_t>> exists(std::vector<std::string> keys);
  boost::asio::awaitable<Result<bool>> expire(std::string key, std::chrono::seconds ttl);
  /// EVAL / EVALSHA. On a cluster every key must hash to one slot, else invalid_argument
  /// (CROSSSLOT) before anything is sent; with no keys, runs on the master of slot 0.
  boost::asio::awaitable<Result<resp::Reply>> eval(std::string script, std::vector<std::string> keys,
                                                   std::vector<std::string> args);
  boost::asio::awaitable<Result<resp::Reply>> evalsha(std::string sha, std::vector<std::string> keys,
                                                      std::vector<std::string> args);
  /// PUBLISH; returns the receivers (on a cluster: those of the node it went to; the
  /// cluster carries the message to every node).
  boost::asio::awaitable<Result<std::int64_t>> publish(std::string channel, std::string message);

  /// One SCAN page of one master (one of masters()): {next cursor, keys}.
  boost::asio::awaitable<Result<std::pair<std::string, std::vector<std::string>>>> scan_at(
      ConnectionOptions master, std::string cursor, std::string match = "", std::size_t count = 100);
  /// A value as set()/mset() stored it, as get() returns it (decoded when compression is
  /// on): for callers that read values in their own pipelines (the cache's GET + PTTL).
  /// REQUIRES: on the client's executor.
  Result<std::string> decode_value(std::string_view stored);

  // --- What each client implements. ---

  /// Any command, raw (no compression), on its first key's server (command_routing_key()).
  /// An error reply becomes an Error. idempotent: may be retried after a transient
  /// failure. On a cluster a keyless command is refused (invalid_argument): use
  /// for_each_master().
  virtual boost::asio::awaitable<Result<resp::Reply>> command(resp::Command cmd, bool idempotent = false) = 0;
  /// Several commands, each server's share in one write, replies in the caller's order.
  /// Error replies stay in place; the Result fails only when a server could not be reached.
  virtual boost::asio::awaitable<Result<std::vector<resp::Reply>>> pipeline(std::vector<resp::Command> cmds,
                                                                            bool idempotent = false) = 0;
  /// MULTI, the commands, EXEC: runs atomically. Returns EXEC's reply. On a cluster every
  /// key must hash to one slot (invalid_argument before anything is sent).
  virtual boost::asio::awaitable<Result<resp::Reply>> transaction(std::vector<resp::Command> cmds) = 0;
  /// A command on every master (one server: that one), one result each, in masters() order.
  virtual boost::asio::awaitable<std::vector<Result<resp::Reply>>> for_each_master(
      resp::Command cmd, bool idempotent = true) = 0;
  /// A command on one master (one of masters(): its host and port), whatever its
  /// arguments: the SCAN, INFO or TIME of that server. Not redirected. A server that is
  /// not one of the masters is refused (invalid_argument).
  virtual boost::asio::awaitable<Result<resp::Reply>> command_at(ConnectionOptions master, resp::Command cmd,
                                                                 bool idempotent = true) = 0;
  /// Reads the topology again now (a cluster's slot map: after a failure, a failover may
  /// have promoted a replica); one server has none to read.
  virtual boost::asio::awaitable<Result<void>> refresh() = 0;
  /// Per-command figures, bytes, batches and pools (a cluster: every node's, summed).
  /// REQUIRES: on the client's executor.
  virtual ClientMetricsSnapshot metrics() const = 0;
  /// How to reach each server for_each_master() goes to, in its order: the server's host
  /// and port, the rest (TLS, credentials, timeouts) as configured. On a cluster, as of
  /// the last slot map. REQUIRES: on the client's executor.
  virtual std::vector<ConnectionOptions> masters() const = 0;
  virtual boost::asio::any_io_executor executor() const = 0;
  /// The options every connection is made with (a cluster: each node's, host and port aside).
  virtual const ClientOptions& options() const noexcept = 0;
  /// Closes every connection; commands in flight fail with Errc::cancelled.
  virtual void close() = 0;

 protected:
  /// A group's key indexes (into the caller's keys) and its command's reply.
  using MergeGroup = std::function<Result<void>(std::span<const std::size_t>, const resp::Reply&)>;

  /// One typed command, routed by `key` (its first key; empty: none).
  virtual boost::asio::awaitable<Result<resp::Reply>> typed(resp::Command cmd, std::string_view key, Op op,
                                                            bool idempotent) = 0;
  /// A multi-key command (`name` with the keys, each followed by its value when `values`
  /// is given) sent as one command per group of keys that may share one; `merge` gets
  /// each group's reply. idempotent: a group may be resent after a lost connection.
  virtual boost::asio::awaitable<Result<void>> per_group(std::string_view name, Op op,
                                                         const std::vector<std::string>& keys,
                                                         const std::vector<std::string>* values,
                                                         bool idempotent, MergeGroup merge) = 0;
  /// The value codec when compression is on, else nullptr.
  virtual ValueCodec* codec() = 0;

 private:
  boost::asio::awaitable<Result<resp::Reply>> script(Op op, std::string body, std::vector<std::string> keys,
                                                     std::vector<std::string> args);
  boost::asio::awaitable<Result<std::int64_t>> counted(std::string_view name, Op op,
                                                       std::vector<std::string> keys, bool idempotent);
};

/// Opens the client `options.connection` names: a ClusterClient, its slot map read, for a
/// redis+cluster:// URL or a plain URL whose server says it is a cluster node (INFO
/// cluster; CLUSTER INFO where the ACL refuses INFO), configuring every node's pool
/// with `options`; else a Client. Fails when the server (or no seed) does not answer,
/// and with invalid_argument when a cluster is asked for a database other than 0.
boost::asio::awaitable<Result<std::unique_ptr<Router>>> open_router(boost::asio::any_io_executor ex,
                                                                    ClientOptions options);

}  // namespace swarmkeeper
