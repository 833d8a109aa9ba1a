// SPDX-License-Identifier: Apache-2.0
// reply.hpp — RESP2/RESP3 replies as a flat, pre-order list of nodes.
//
// A reply of any shape is a sequence of Nodes in pre-order: an aggregate node (array,
// map, set, push) is followed by its children; Node::next is the index one past the
// node's subtree, so siblings are walked without recursion. Scalar payloads are
// (offset, length) pairs relative to a base pointer:
//   - ReplyView's base is the connection's read buffer (zero copy; valid only until
//     the buffer is consumed, i.e. inside the callback that receives it);
//   - Reply owns one std::string holding every payload back to back (two allocations
//     per reply whatever its size), so it can be kept and moved freely.
// Both hand out ReplyRef, a cheap cursor to one node.
//
//   Reply r = ...;                       // e.g. ["0", ["k1", "k2"]] from SCAN
//   std::string_view cursor = r.root()[0].str();
//   for (ReplyRef key : r.root()[1]) use(key.str());
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace swarmkeeper::resp {

enum class Type : std::uint8_t {
  simple_string,    ///< +OK
  error,            ///< -ERR message (RESP2 and RESP3 simple error)
  integer,          ///< :42
  bulk_string,      ///< $3 foo
  null,             ///< _ (RESP3), $-1 and *-1 (RESP2)
  array,            ///< *N
  map,              ///< %N: 2N children, key, value, key, value ...
  set,              ///< ~N
  double_number,    ///< ,3.14 (payload is the text; see ReplyRef::as_double)
  boolean,          ///< #t / #f (integer() is 1 or 0)
  big_number,       ///< (12345678901234567890 (payload is the digits)
  verbatim_string,  ///< =N txt:... (payload is the text after the 4-byte format)
  bulk_error,       ///< !N message
  push,             ///< >N out-of-band data (pub/sub, invalidation)
};

/// Short name of a type, e.g. "bulk_string".
const char* type_name(Type t) noexcept;

inline bool is_aggregate(Type t) noexcept {
  return t == Type::array || t == Type::map || t == Type::set || t == Type::push;
}

struct Node {
  Type type = Type::null;
  std::uint32_t depth = 0;  ///< 0 for the root
  std::uint32_t next = 0;   ///< index one past this node's subtree
  std::int64_t value = 0;   ///< integer / boolean value; aggregates: number of children
  std::size_t offset = 0;   ///< scalar payload: offset from the reply's base
  std::size_t length = 0;   ///< scalar payload: length in bytes
};

/// A cursor to one node of a reply. Valid as long as the reply (or buffer) it points into.
class ReplyRef {
 public:
  ReplyRef(const Node* nodes, std::uint32_t index, const char* base) noexcept
      : nodes_(nodes), index_(index), base_(base) {}

  Type type() const noexcept { return node().type; }
  bool is_null() const noexcept { return type() == Type::null; }
  bool is_error() const noexcept { return type() == Type::error || type() == Type::bulk_error; }
  bool is_string() const noexcept;  ///< simple, bulk or verbatim string
  bool is_aggregate() const noexcept { return resp::is_aggregate(type()); }

  /// The payload of any scalar (string, error, double text, big number); "" otherwise.
  std::string_view str() const noexcept { return {base_ + node().offset, node().length}; }
  /// Integer value (Type::integer), 1/0 (Type::boolean); 0 for other types.
  std::int64_t integer() const noexcept { return is_aggregate() ? 0 : node().value; }
  /// A double (Type::double_number, or an integer/string that parses as one).
  std::optional<double> as_double() const noexcept;
  /// An integer from Type::integer or a decimal string reply (e.g. a SCAN cursor).
  std::optional<std::int64_t> as_integer() const noexcept;

  /// Number of direct children (maps count keys and values); 0 for scalars.
  std::size_t size() const noexcept { return is_aggregate() ? static_cast<std::size_t>(node().value) : 0; }
  /// The i-th child. REQUIRES: i < size(). O(i) for nested children, O(1) for flat ones.
  ReplyRef operator[](std::size_t i) const noexcept;

  class iterator {
   public:
    using value_type = ReplyRef;
    using difference_type = std::ptrdiff_t;
    iterator(const Node* nodes, std::uint32_t index, const char* base)
        : nodes_(nodes), index_(index), base_(base) {}
    ReplyRef operator*() const noexcept { return {nodes_, index_, base_}; }
    iterator& operator++() noexcept {
      index_ = nodes_[index_].next;
      return *this;
    }
    iterator operator++(int) noexcept {
      auto t = *this;
      ++*this;
      return t;
    }
    bool operator==(const iterator& o) const noexcept { return index_ == o.index_; }

   private:
    const Node* nodes_;
    std::uint32_t index_;
    const char* base_;
  };
  iterator begin() const noexcept { return {nodes_, index_ + 1, base_}; }
  iterator end() const noexcept { return {nodes_, is_aggregate() ? node().next : index_ + 1, base_}; }

  const Node& node() const noexcept { return nodes_[index_]; }

 private:
  const Node* nodes_;
  std::uint32_t index_;
  const char* base_;
};

/// A parsed reply whose payloads live in someone else's buffer (zero copy).
class ReplyView {
 public:
  ReplyView(std::span<const Node> nodes, const char* base) noexcept : nodes_(nodes), base_(base) {}
  ReplyRef root() const noexcept { return {nodes_.data(), 0, base_}; }
  std::span<const Node> nodes() const noexcept { return nodes_; }
  const char* base() const noexcept { return base_; }

 private:
  std::span<const Node> nodes_;
  const char* base_;
};

/// A parsed reply that owns its payloads.
class Reply {
 public:
  Reply();  ///< a null reply
  explicit Reply(const ReplyView& view);

  ReplyRef root() const noexcept { return {nodes_.data(), 0, storage_.data()}; }
  ReplyView view() const noexcept { return {nodes_, storage_.data()}; }

  // Shorthands for root().
  Type type() const noexcept { return root().type(); }
  bool is_null() const noexcept { return root().is_null(); }
  bool is_error() const noexcept { return root().is_error(); }
  std::string_view str() const noexcept { return root().str(); }
  std::int64_t integer() const noexcept { return root().integer(); }
  std::size_t size() const noexcept { return root().size(); }
  ReplyRef operator[](std::size_t i) const noexcept { return root()[i]; }
  ReplyRef::iterator begin() const noexcept { return root().begin(); }
  ReplyRef::iterator end() const noexcept { return root().end(); }

 private:
  std::string storage_;
  std::vector<Node> nodes_;
};

/// Renders a reply in a compact human-readable form, e.g. ["0", [1, "a"]] (for tests, logs).
std::string to_string(ReplyRef r);

/// The milliseconds since the epoch a TIME reply ([seconds, microseconds]) says; nullopt
/// for any other shape, a negative part, microseconds past 999999 or an overflow.
std::optional<std::int64_t> time_ms(ReplyRef r) noexcept;

}  // namespace swarmkeeper::resp
