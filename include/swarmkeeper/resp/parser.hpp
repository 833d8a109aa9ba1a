// SPDX-License-Identifier: Apache-2.0
// parser.hpp — incremental RESP2/RESP3 parser. No I/O.
//
// Feed it the bytes of the current reply from its first byte on, in any chunking
// (1 byte at a time works): it answers need_more, complete, or error. It remembers
// how far it got, so re-feeding the same bytes plus more costs only the new bytes.
// On complete, view(buf) is the reply (referencing buf) and consumed() the number of
// bytes it took; reset() before the next reply.
//
// Memory: the parser never allocates from a declared length; it keeps one Node per
// element actually received, and rejects input past ParserLimits (nesting depth,
// bulk length, aggregate size, line length) with a protocol error.
//
// Streamed aggregates and strings (`*?`, `$?`) are rejected with a clear error;
// Redis never sends them. Attributes (`|`) are validated and dropped.
//
//   Parser p;
//   std::string buf;            // bytes read from the socket are appended here
//   while (p.feed(buf) == Parser::Status::need_more) buf += read_some();
//   ReplyView v = p.view(buf);  // use it, then:
//   buf.erase(0, p.consumed()); p.reset();
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/resp/reply.hpp"

namespace swarmkeeper::resp {

struct ParserLimits {
  /// Deepest aggregate nesting accepted. Redis replies rarely nest past 4. Default 64.
  std::size_t max_depth = 64;
  /// Largest bulk string accepted, in bytes. Redis' own proto-max-bulk-len. Default 512 MiB.
  std::size_t max_bulk_length = 512u * 1024 * 1024;
  /// Largest declared aggregate size (elements). Default 2^31 - 1.
  std::size_t max_aggregate_size = 0x7fffffff;
  /// Longest header or simple line (+, -, :, ...) in bytes. Default 1 MiB.
  std::size_t max_line_length = 1024 * 1024;
};

class Parser {
 public:
  enum class Status { need_more, complete, error };

  explicit Parser(ParserLimits limits = {}) : limits_(limits) {}

  /// Parses as much of buf as it can. REQUIRES: buf starts at the current reply's first
  /// byte and extends what earlier calls since reset() were given. After complete or
  /// error, further calls return the same status until reset().
  Status feed(std::string_view buf);

  /// The completed reply. REQUIRES: the last feed() returned complete; buf is the same
  /// bytes that were fed. The view is valid while buf is unchanged.
  ReplyView view(std::string_view buf) const noexcept { return {nodes_, buf.data()}; }
  /// Bytes of buf the completed reply took.
  std::size_t consumed() const noexcept { return pos_; }
  /// Why the stream was rejected (Errc::protocol_error). REQUIRES: Status::error.
  const Error& error() const noexcept { return error_; }

  /// Forgets the current reply and starts afresh (keeps allocated capacity).
  void reset() noexcept;

 private:
  struct Frame {
    std::uint32_t node;      // index of the aggregate's node (or nodes_ size for attributes)
    std::int64_t remaining;  // children still expected
    bool attribute;          // an attribute map: its nodes are dropped when it ends
  };

  Status fail(std::string message);
  bool add_node(Type type, std::int64_t value, std::size_t offset, std::size_t length);
  bool open_aggregate(Type type, std::int64_t count, bool attribute);
  void close_finished_frames();

  ParserLimits limits_;
  std::vector<Node> nodes_;
  std::vector<Frame> stack_;
  std::size_t pos_ = 0;        // next unparsed byte
  std::size_t crlf_scan_ = 0;  // where to resume looking for the current line's CRLF
  Status status_ = Status::need_more;
  Error error_;
};

}  // namespace swarmkeeper::resp
