// SPDX-License-Identifier: Apache-2.0
// client.hpp — the Redis client applications use: a pool of multiplexed connections with
// automatic pipelining, transparent compression, per-command metrics, TLS/ACL, reconnects
// and health checks.
//
// Ordinary commands are spread over the pool's connections, each carrying many callers'
// commands at once: commands issued while a connection's write is in flight go out
// together in its next write, and a lone command goes out at once (nothing waits on a
// timer). A connection carrying pipeline_batch commands counts as busy, and the pool opens
// another, up to max_connections. Connections open lazily, are PINGed when idle
// (health_check_interval), closed when idle past idle_timeout (down to min_connections),
// and replaced after failures with exponential backoff and jitter. A command in flight on
// a connection that dies fails with a typed error; idempotent reads are retried once on
// another connection, writes never.
//
// Threading: a Client lives on one executor, which must run one handler at a time (an
// io_context run by one thread — the fast path, fastest made as io_context{1} — or a
// strand); its state is touched only there. Its coroutine methods may be awaited from
// any other executor or thread: they hop to the client's executor and back (one extra
// handoff each way); a caller already on it pays no hop. All its I/O runs on that one
// executor, so one Client uses one core. For every core, ThreadedClient
// (threaded_client.hpp) runs a Client per I/O thread; SyncClient wraps one for code
// outside coroutines.
//
//   asio::io_context io;
//   Client client(io.get_executor(), options);
//   co_await client.set("k", value);            // compressed if >= 1 KB and worth it
//   auto v = co_await client.get("k");          // Result<std::optional<std::string>>
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "swarmkeeper/client/client_metrics.hpp"
#include "swarmkeeper/client/compression.hpp"
#include "swarmkeeper/client/router.hpp"
#include "swarmkeeper/error.hpp"
#include "swarmkeeper/net/connection_options.hpp"
#include "swarmkeeper/resp/encoder.hpp"
#include "swarmkeeper/resp/reply.hpp"

namespace swarmkeeper {

namespace net {
class Connection;
}

struct ClientOptions {
  ConnectionOptions connection;
  /// Connections kept open once opened (idle ones above this are closed). Default 5.
  std::size_t min_connections = 5;
  /// Most connections open at once. Default 20.
  std::size_t max_connections = 20;
  /// How long a command may wait for a usable connection. Default 10 s.
  std::chrono::milliseconds acquire_timeout{10000};
  /// Idle connections above min_connections are closed after this. Default 15 s.
  std::chrono::milliseconds idle_timeout{15000};
  /// Commands in flight on a connection before the pool prefers to open another. Default 100.
  std::size_t pipeline_batch = 100;
  /// Idle connections are PINGed this often; one that fails is replaced. Default 3 s.
  std::chrono::milliseconds health_check_interval{3000};
  /// Compress values of get/set/mget/mset (see compression.hpp). Default on.
  bool compression = true;
  CompressionOptions compression_options;
  /// Retries of idempotent reads after a transient failure. Default 1.
  int read_retries = 1;
  /// Reconnect backoff: first delay ceiling and cap (full jitter). Default 50 ms, 5 s.
  std::chrono::milliseconds reconnect_initial{50};
  std::chrono::milliseconds reconnect_max{5000};
};

class Client final : public Router {
 public:
  struct Impl;

  Client(boost::asio::any_io_executor ex, ClientOptions options);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // get, set, mget, mset, del, unlink, exists, expire, eval, evalsha, publish: Router's
  // (router.hpp), each one command here.

  /// One SCAN page: {next cursor, keys}.
  boost::asio::awaitable<Result<std::pair<std::string, std::vector<std::string>>>> scan(
      std::string cursor, std::string match = "", std::size_t count = 100);
  /// Any command, raw (no compression). An error reply becomes an Error. idempotent:
  /// may be retried after a transient failure. Blocking commands (BLPOP, BRPOP, BLMOVE,
  /// BLMPOP, BRPOPLPUSH, BZPOPMIN/MAX, BZMPOP, WAIT, XREAD/XREADGROUP ... BLOCK) run on a
  /// connection of their own, so they never hold up other callers' commands. Commands
  /// that would break a shared connection's one-reply-per-command order or change its
  /// state are refused with invalid_argument, naming the API to use: an empty command,
  /// (P|S)SUBSCRIBE and their UNSUBSCRIBEs (subscribe()), MONITOR, RESET, QUIT, CLIENT
  /// REPLY, HELLO, AUTH and SELECT (lease(), or ConnectionOptions for the last three).
  boost::asio::awaitable<Result<resp::Reply>> command(resp::Command cmd, bool idempotent = false) override;
  /// Several commands in one write, on one connection, replies in order. Error replies
  /// stay in the vector; the Result fails only if the connection did. What command()
  /// refuses is refused here too (invalid_argument, naming the command's index), and so
  /// are blocking commands (they would hold up the shared connection: use command()).
  boost::asio::awaitable<Result<std::vector<resp::Reply>>> pipeline(resp::Pipeline commands);
  /// The same from separate commands (Router's form; never resent, whatever `idempotent`).
  boost::asio::awaitable<Result<std::vector<resp::Reply>>> pipeline(std::vector<resp::Command> cmds,
                                                                    bool idempotent = false) override;
  /// MULTI, the commands, EXEC in one write: runs atomically. Returns EXEC's reply (an
  /// array of the commands' replies). An error reply inside fails the Result. Refuses
  /// what command() refuses (blocking commands do not block inside MULTI).
  boost::asio::awaitable<Result<resp::Reply>> transaction(resp::Pipeline commands);
  boost::asio::awaitable<Result<resp::Reply>> transaction(std::vector<resp::Command> cmds) override;
  /// The one server: command(cmd, idempotent) as the only result.
  boost::asio::awaitable<std::vector<Result<resp::Reply>>> for_each_master(resp::Command cmd,
                                                                           bool idempotent = true) override;
  /// The one server.
  std::vector<ConnectionOptions> masters() const override;
  /// command(cmd, idempotent) when `master` is this client's server.
  boost::asio::awaitable<Result<resp::Reply>> command_at(ConnectionOptions master, resp::Command cmd,
                                                         bool idempotent = true) override;
  /// Nothing to read: succeeds.
  boost::asio::awaitable<Result<void>> refresh() override;

  /// A connection for one caller alone (WATCH/MULTI/EXEC, blocking commands), counted
  /// against max_connections; closed when the Lease goes away. exec() must be awaited on
  /// the client's executor.
  class Lease {
   public:
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = default;
    ~Lease();
    boost::asio::awaitable<Result<resp::Reply>> exec(resp::Command cmd);

   private:
    friend class Client;
    Lease(std::shared_ptr<Impl> impl, std::shared_ptr<net::Connection> conn);
    std::shared_ptr<Impl> impl_;
    std::shared_ptr<net::Connection> conn_;
  };
  /// Waits (up to acquire_timeout) for room in the pool and opens a leased connection.
  boost::asio::awaitable<Result<Lease>> lease();

  struct Message {
    std::string channel;
    std::string payload;
  };
  /// Messages from subscribed channels, on a leased connection (RESP3 needed: messages
  /// arrive as push frames). Unsubscribes (closes its connection) when it goes away.
  class Subscription {
   public:
    Subscription(Subscription&&) noexcept = default;
    Subscription& operator=(Subscription&&) noexcept = default;
    ~Subscription();
    /// The next message, in order; waits as long as needed. Fails if the connection is lost.
    boost::asio::awaitable<Result<Message>> next();

   private:
    friend class Client;
    struct State;
    Subscription(std::shared_ptr<Impl> impl, std::shared_ptr<net::Connection> conn,
                 std::shared_ptr<State> state);
    std::shared_ptr<Impl> impl_;
    std::shared_ptr<net::Connection> conn_;
    std::shared_ptr<State> state_;
  };
  /// Subscribes to channels; returns once the server confirmed every one of them.
  boost::asio::awaitable<Result<Subscription>> subscribe(std::vector<std::string> channels);

  /// REQUIRES: called on the client's executor (the pool's byte counts are read there).
  ClientMetricsSnapshot metrics() const override;
  /// The executor the client lives on, and the options it was made with.
  boost::asio::any_io_executor executor() const override;
  const ClientOptions& options() const noexcept override;
  /// Closes every connection; commands in flight fail with Errc::cancelled.
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

/// A Router (router.hpp: one server, or a whole cluster from a plain URL to one of its
/// nodes or a redis+cluster:// URL) on an I/O thread of its own, for code that is not in
/// a coroutine. Thread-safe. Nothing is opened until the first call; a Redis that does
/// not answer yet fails that call with the connection's error and is tried again on a
/// later one (at most once a second; calls in between get the same error at once).
class SyncClient {
 public:
  explicit SyncClient(ClientOptions options);
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;
  Result<Router::Value> get(const std::string& key);
  Result<void> set(const std::string& key, const std::string& value,
                   std::chrono::milliseconds ttl = std::chrono::milliseconds(0));
  Result<resp::Reply> command(const resp::Command& cmd, bool idempotent = false);
  /// Queues a command and returns at once; many in flight pipeline together.
  std::future<Result<resp::Reply>> command_async(resp::Command cmd, bool idempotent = false);
  /// The router behind it, opened if need be (fails as the calls above do), for
  /// coroutines: await its methods on its executor(), e.g. co_spawn there. Valid until
  /// the SyncClient is destroyed.
  Result<Router*> async();
  /// Every connection's figures (a cluster: every node's, summed); empty before the first call.
  ClientMetricsSnapshot metrics() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace swarmkeeper
