// SPDX-License-Identifier: Apache-2.0
// connection.hpp — one Redis connection: TCP or TLS, handshake, pipelining, timeouts.
//
// Open it with co_await Connection::open(executor, options): that resolves, connects
// (TCP_NODELAY, keepalive), does the TLS handshake for rediss://, then HELLO 3 with
// AUTH and SETNAME (or AUTH / CLIENT SETNAME on servers without HELLO, in RESP2) and
// SELECT. Any number of commands may be in flight: each exec() queues its commands;
// commands queued while a write is on the wire go out together in the next write, and
// replies are matched in order (net/multiplexer.hpp does the bookkeeping).
//
// Failure is typed (swarmkeeper::Errc) and final: a connection that fails (refused,
// timed out, lost, protocol error) fails every queued command with that error and stays
// closed; reconnecting is the pool's job. A connection with commands in flight that gets
// no reply for options.command_timeout is declared dead with Errc::timeout.
//
// Threading: all calls on the connection's executor (one thread, or a strand).
//
//   auto conn = co_await Connection::open(ex, opts);
//   if (!conn) co_return report(conn.error());
//   auto pong = co_await (*conn)->exec(resp::Command("PING"));
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/multiplexer.hpp"
#include "swarmkeeper/error.hpp"
#include "swarmkeeper/net/connection_options.hpp"
#include "swarmkeeper/resp/encoder.hpp"
#include "swarmkeeper/resp/reply.hpp"

namespace swarmkeeper::net {

namespace asio = boost::asio;

class Connection {
 public:
  /// Opens and handshakes a connection. Fails with connection_refused, dns_failure,
  /// timeout (connect_timeout), auth_failed, tls_error, server_error or io_error.
  static asio::awaitable<Result<std::shared_ptr<Connection>>> open(asio::any_io_executor ex,
                                                                   ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs one command. An error reply becomes an Error (server_error, no_permission,
  /// no_script, ...) whose message quotes the server; other replies are returned.
  asio::awaitable<Result<resp::Reply>> exec(const resp::Command& cmd);

  /// Runs a pipeline in one write; returns one reply per command, in order. Error
  /// replies stay in the vector (a pipeline is not a transaction); the Result fails
  /// only if the connection did.
  asio::awaitable<Result<std::vector<resp::Reply>>> exec(const resp::Pipeline& pipeline);

  /// Low level, zero copy: sends `payload` (encoded commands, caller-owned until this
  /// completes) and hands each of its `replies` replies to `sink` while they are still
  /// in the read buffer. Returns an Error with code ok on success.
  asio::awaitable<Error> exec_raw(std::string_view payload, std::size_t replies, ReplySink sink);

  /// Receives RESP3 push messages (pub/sub messages, subscription confirmations,
  /// client-side caching invalidations) while they are in the read buffer.
  void on_push(std::function<void(const resp::ReplyView&)> handler);

  /// Called once, on the connection's executor, when the connection closes for any
  /// reason (failure, close(), destruction): before the socket is closed (so its
  /// descriptor is still this connection's) and before its commands fail.
  void on_close(std::function<void(const Error&)> handler);

  /// Plain TCP: from the next read on, *guard is raised (incremented) before bytes are
  /// taken from the socket and lowered once their replies and pushes are dispatched,
  /// so another thread that polls the socket and then reads *guard learns whether
  /// anything received is still unapplied. `guard` must outlive the connection's reads.
  /// Ignored with TLS (bytes may wait inside the TLS layer).
  void set_read_guard(std::atomic<int>* guard);

  /// Closes the socket; queued and in-flight commands fail with Errc::cancelled.
  void close();
  bool is_open() const noexcept;
  /// The socket's descriptor while open (-1 once closed), for readiness checks only.
  int native_handle() noexcept;
  /// Why the connection closed (code ok while open).
  const Error& failure() const noexcept;

  /// 3 if HELLO 3 succeeded, else 2.
  int protocol() const noexcept;
  /// The server's version from HELLO ("7.0.15"); empty in RESP2 fallback.
  const std::string& server_version() const noexcept;
  const ConnectionOptions& options() const noexcept;
  /// Bytes written and read so far (for metrics and tests).
  std::uint64_t bytes_written() const noexcept;
  std::uint64_t bytes_read() const noexcept;
  /// Number of socket writes so far: commands queued together share one.
  std::uint64_t writes() const noexcept;

  struct Impl;

 private:
  explicit Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

/// Maps an error reply (-NOPERM, -LOADING, ...) to an Error whose message is
/// "<context>: <server text>".
Error error_from_reply(resp::ReplyRef reply, std::string_view context);

}  // namespace swarmkeeper::net
