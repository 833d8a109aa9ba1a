// SPDX-License-Identifier: Apache-2.0
// client_pool.hpp — Client's pool (Client::Impl): the connections, which one a command
// goes to, when they open, close and are replaced, health checks and metrics. The
// pool's code is client_pool.cpp; the typed commands that use it are client.cpp;
// leases and subscriptions client_sessions.cpp; SyncClient sync_client.cpp.
//
// Threading: every member is touched on `ex` only, but the metrics atomics.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "client/backoff.hpp"
#include "client/on_executor.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/metrics/histogram.hpp"

namespace swarmkeeper {

namespace asio = boost::asio;

namespace client_detail {

using Clock = std::chrono::steady_clock;
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

enum Cmd {
  kGet,
  kSet,
  kDel,
  kUnlink,
  kMget,
  kMset,
  kExpire,
  kScan,
  kEval,
  kEvalsha,
  kPublish,
  kPing,
  kOther,
  kCmdCount
};
inline constexpr const char* kCmdNames[kCmdCount] = {"GET",     "SET",    "DEL",  "UNLINK", "MGET",
                                                     "MSET",    "EXPIRE", "SCAN", "EVAL",   "EVALSHA",
                                                     "PUBLISH", "PING",   "OTHER"};

struct CommandStats {
  std::atomic<std::uint64_t> calls{0}, errors{0};
  metrics::Histogram latency;
};

inline std::uint64_t ns_since(Clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count());
}

}  // namespace client_detail

struct Client::Impl : std::enable_shared_from_this<Impl> {
  using Clock = client_detail::Clock;
  struct Slot {
    std::shared_ptr<net::Connection> conn;
    std::size_t in_flight = 0;
    Clock::time_point last_used = client_detail::Clock::now();
  };

  Impl(asio::any_io_executor executor, ClientOptions o)
      : ex(std::move(executor)),
        opts(std::move(o)),
        codec(opts.compression_options),
        backoff({opts.reconnect_initial, opts.reconnect_max}),
        rng(std::random_device{}()),
        health_timer(ex) {
    if (opts.max_connections == 0) opts.max_connections = 1;
  }

  asio::any_io_executor ex;
  ClientOptions opts;
  ValueCodec codec;
  // Pool state; touched only on ex (the client's single-threaded executor).
  std::vector<std::shared_ptr<Slot>> slots;
  std::size_t connecting = 0, waiters = 0, leased = 0;
  client::Backoff backoff;
  std::mt19937 rng;
  Clock::time_point next_connect_at{};
  Error last_connect_error;
  std::vector<asio::steady_timer*> waiting;  // callers parked in acquire(), each on its own timer
  asio::steady_timer health_timer;
  bool closed = false;
  // Metrics; atomics, read from any thread.
  std::array<client_detail::CommandStats, client_detail::kCmdCount> stats;
  metrics::Histogram acquire_ns;
  std::atomic<std::uint64_t> connects{0}, failures{0}, commands_sent{0};
  std::atomic<std::uint64_t> closed_bytes_out{0}, closed_bytes_in{0}, closed_writes{0};
  std::atomic<std::uint64_t> open_count{0}, busy_count{0};

  void wake_waiters();

  // Waits until `until` or until the pool changes (wake_waiters), whichever comes first.
  asio::awaitable<void> park_until(Clock::time_point until);

  // Sends `count` encoded commands in one payload on a pooled connection; returns their
  // replies in order (error replies included).
  asio::awaitable<Result<std::vector<resp::Reply>>> exec_many(std::string payload, std::size_t count);

  // Closes a connection leaving the client, keeping its byte and write counts in the totals.
  void retire(const std::shared_ptr<net::Connection>& c);

  void drop(std::size_t i);

  void prune_dead();

  // A connection for one command: the least loaded open one; a new one when all are busy
  // (up to max); waits (up to acquire_timeout) while none can be had.
  asio::awaitable<Result<std::shared_ptr<Slot>>> acquire(Clock::time_point t0);

  // A dedicated connection: room permitting (an idle shared connection gives way when
  // the pool is full), else wait for a lease to end, up to acquire_timeout.
  asio::awaitable<Result<std::shared_ptr<net::Connection>>> open_leased();

  void end_lease(const std::shared_ptr<net::Connection>& c);

  static bool retryable(const Error& e);

  // Runs one command on a pooled connection, with metrics and (for reads) a retry.
  asio::awaitable<Result<resp::Reply>> run(const resp::Command& cmd, client_detail::Cmd which,
                                           bool idempotent);

  // PINGs idle connections, replaces failed ones, closes idle ones above the minimum.
  static asio::awaitable<void> health_loop(std::shared_ptr<Impl> self);

  void close_all();

  ClientMetricsSnapshot snapshot() const;
};

namespace client_detail {

// Runs body on the client's executor (over and back when the caller is elsewhere).
template <class T>
asio::awaitable<T> on_client(std::shared_ptr<Client::Impl> impl, asio::awaitable<T> body) {
  return on_executor(impl->ex, std::move(body));
}

// Runs one command on the client's executor: directly when the caller runs there (the
// fast path: no extra coroutine frame), else through on_client.
asio::awaitable<Result<resp::Reply>> run_here(std::shared_ptr<Client::Impl> impl, const resp::Command& cmd,
                                              int which, bool idempotent);

}  // namespace client_detail
}  // namespace swarmkeeper
