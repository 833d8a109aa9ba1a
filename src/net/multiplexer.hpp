// SPDX-License-Identifier: Apache-2.0
// multiplexer.hpp — the I/O-free heart of a connection: which bytes to write next,
// and which request each reply belongs to.
//
// Requests go through three states: staged (queued, not yet written), written (on the
// wire, waiting for replies), done. prepare_write() moves every staged request into one
// write (so commands from many callers coalesce into a single syscall); on_read()
// parses whatever bytes arrived and hands each reply to the oldest written request,
// completing it when it has all the replies it expects. RESP3 push messages are not
// replies: they go to the push handler. The Asio code (connection.cpp) only moves
// bytes; every decision is here, so it is unit-tested with made-up input.
//
// Not thread-safe: one connection, one executor.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/resp/parser.hpp"

namespace swarmkeeper::net {

/// Receives each reply of a request while its bytes are still in the read buffer.
/// A cheap non-owning callable: fn(ctx, reply).
struct ReplySink {
  void* ctx = nullptr;
  void (*fn)(void* ctx, const resp::ReplyView& reply) = nullptr;
  void operator()(const resp::ReplyView& r) const { fn(ctx, r); }
};

/// One unit of work: encoded commands and how many replies they produce. Owned by the
/// caller (typically a coroutine frame awaiting it); it must outlive its completion.
struct Request {
  std::string_view payload;             ///< encoded commands (caller-owned bytes)
  std::size_t expected = 1;             ///< replies to deliver before completing; 0: completes
                                        ///< once written (commands answered by pushes, e.g.
                                        ///< SUBSCRIBE in RESP3)
  ReplySink sink;                       ///< where the replies go
  void (*on_done)(Request*) = nullptr;  ///< called once, on success or failure
  void* owner = nullptr;                ///< for on_done's use

  // Filled in by the multiplexer.
  std::size_t received = 0;
  Error error;  ///< set when the request failed as a whole
};

class Multiplexer {
 public:
  explicit Multiplexer(resp::ParserLimits limits = {}) : parser_(limits) {}

  /// Queues a request. If the connection has already failed, completes it at once
  /// with that failure.
  void enqueue(Request* r);

  /// True when staged requests wait for a write.
  bool has_staged() const noexcept { return !staged_.empty(); }
  /// True when requests wait for replies.
  bool has_in_flight() const noexcept { return !written_.empty(); }
  std::size_t in_flight() const noexcept { return written_.size(); }

  /// Moves all staged requests to written and returns their payloads, in order, for
  /// one gathered write. REQUIRES: has_staged().
  const std::vector<std::string_view>& prepare_write();
  /// The write prepared last has completed: requests expecting no reply are done.
  void on_written();

  /// The read buffer: append received bytes to it, then call on_read().
  std::string& read_buffer() noexcept { return rbuf_; }
  /// Parses and dispatches every complete reply in the read buffer. Returns the
  /// number of replies dispatched, or an Error (protocol error; the connection must
  /// then be closed with fail_all()).
  Result<std::size_t> on_read();

  /// Fails every staged and written request with err; later enqueues fail too.
  void fail_all(const Error& err);
  const Error& failure() const noexcept { return failure_; }

  /// Receives RESP3 push messages (pub/sub, invalidations); by default they are counted
  /// and dropped.
  std::function<void(const resp::ReplyView&)> push_handler;
  std::size_t pushes_dropped() const noexcept { return pushes_dropped_; }

 private:
  void complete(Request* r);

  resp::Parser parser_;
  std::deque<Request*> staged_;
  std::deque<Request*> written_;
  std::vector<Request*> written_no_reply_;
  std::vector<std::string_view> write_list_;
  std::string rbuf_;
  std::size_t rpos_ = 0;  // start of the first unparsed reply in rbuf_
  Error failure_;
  std::size_t pushes_dropped_ = 0;
};

}  // namespace swarmkeeper::net
