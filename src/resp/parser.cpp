// SPDX-License-Identifier: Apache-2.0
// parser.cpp — the incremental RESP2/RESP3 parser (see parser.hpp for the contract).
//
// State between feed() calls: nodes_ (complete nodes of the current reply, payloads as
// offsets from the reply's first byte), stack_ (open aggregates and how many children
// each still expects) and pos_ (first byte not yet turned into a node). A node is only
// committed once all its bytes (header, payload and trailing CRLF) are present, so a
// short buffer never leaves a half-built node behind: the next feed re-reads at most
// one header line.
#include "swarmkeeper/resp/parser.hpp"

#include <charconv>
#include <cstring>

namespace swarmkeeper::resp {
namespace {

// Parses a whole line as a signed decimal integer (no sign-only, no spaces, no overflow).
bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !(s[0] == '-' && s.size() == 1);
}

bool valid_big_number(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool valid_double(std::string_view s) {
  if (s == "inf" || s == "-inf" || s == "nan" || s == "-nan") return true;
  double d;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

void Parser::reset() noexcept {
  nodes_.clear();
  stack_.clear();
  pos_ = 0;
  crlf_scan_ = 0;
  status_ = Status::need_more;
  error_ = Error();
}

Parser::Status Parser::fail(std::string message) {
  error_ = Error(Errc::protocol_error, "invalid RESP from server: " + message);
  status_ = Status::error;
  return status_;
}

// Adds a scalar node under the innermost open aggregate. Returns false on overflow of
// the node index space (4 G nodes), which the caller reports.
bool Parser::add_node(Type type, std::int64_t value, std::size_t offset, std::size_t length) {
  if (nodes_.size() >= 0xfffffffeu) return false;
  const auto index = static_cast<std::uint32_t>(nodes_.size());
  std::uint32_t depth = 0;
  for (const Frame& f : stack_) depth += f.attribute ? 0 : 1;
  nodes_.push_back(Node{type, depth, index + 1, value, offset, length});
  if (!stack_.empty()) --stack_.back().remaining;
  return true;
}

// Opens an aggregate. An attribute is not an element of its parent (it annotates the
// element that follows it), so it does not count against the parent's remaining.
bool Parser::open_aggregate(Type type, std::int64_t count, bool attribute) {
  if (attribute) {
    stack_.push_back(Frame{static_cast<std::uint32_t>(nodes_.size()), count * 2, true});
    return true;
  }
  if (!add_node(type, type == Type::map ? count * 2 : count, 0, 0)) return false;
  stack_.push_back(
      Frame{static_cast<std::uint32_t>(nodes_.size() - 1), type == Type::map ? count * 2 : count, false});
  return true;
}

// Pops every aggregate that has all its children, fixing up their `next` links.
void Parser::close_finished_frames() {
  while (!stack_.empty() && stack_.back().remaining == 0) {
    Frame f = stack_.back();
    stack_.pop_back();
    if (f.attribute)
      nodes_.resize(f.node);  // attributes are dropped
    else
      nodes_[f.node].next = static_cast<std::uint32_t>(nodes_.size());
  }
}

Parser::Status Parser::feed(std::string_view buf) {
  if (status_ != Status::need_more) return status_;
  for (;;) {
    close_finished_frames();
    if (stack_.empty() && !nodes_.empty()) return status_ = Status::complete;

    // One header line: <marker><text>\r\n
    if (pos_ >= buf.size()) return Status::need_more;
    const char* base = buf.data();
    const std::size_t from = crlf_scan_ > pos_ + 1 ? crlf_scan_ : pos_ + 1;
    const char* cr = from < buf.size()
                         ? static_cast<const char*>(std::memchr(base + from, '\r', buf.size() - from))
                         : nullptr;
    if (cr == nullptr || static_cast<std::size_t>(cr - base) + 1 >= buf.size()) {
      // No complete CRLF yet; next time resume the search where this one stopped.
      crlf_scan_ = cr == nullptr ? buf.size() : static_cast<std::size_t>(cr - base);
      if (buf.size() - pos_ > limits_.max_line_length)
        return fail("a line is longer than " + std::to_string(limits_.max_line_length) + " bytes");
      return Status::need_more;
    }
    const std::size_t cr_at = static_cast<std::size_t>(cr - base);
    if (base[cr_at + 1] != '\n') return fail("CR not followed by LF");
    if (cr_at - pos_ > limits_.max_line_length)
      return fail("a line is longer than " + std::to_string(limits_.max_line_length) + " bytes");

    const char marker = base[pos_];
    const std::size_t text_at = pos_ + 1;
    const std::string_view text(base + text_at, cr_at - text_at);
    const std::size_t after_line = cr_at + 2;
    std::int64_t n = 0;

    if (stack_.size() >= limits_.max_depth &&
        (marker == '*' || marker == '%' || marker == '~' || marker == '>' || marker == '|'))
      return fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");

    switch (marker) {
      case '+':
      case '-':
        if (!add_node(marker == '+' ? Type::simple_string : Type::error, 0, text_at, text.size()))
          return fail("reply has too many elements");
        break;
      case ':':
        if (!parse_int(text, n)) return fail("bad integer '" + std::string(text.substr(0, 32)) + "'");
        if (!add_node(Type::integer, n, text_at, text.size())) return fail("reply has too many elements");
        break;
      case '_':
        if (!text.empty()) return fail("null with a payload");
        if (!add_node(Type::null, 0, text_at, 0)) return fail("reply has too many elements");
        break;
      case '#':
        if (text != "t" && text != "f") return fail("bad boolean '" + std::string(text.substr(0, 32)) + "'");
        if (!add_node(Type::boolean, text == "t" ? 1 : 0, text_at, 1))
          return fail("reply has too many elements");
        break;
      case ',':
        if (!valid_double(text)) return fail("bad double '" + std::string(text.substr(0, 32)) + "'");
        if (!add_node(Type::double_number, 0, text_at, text.size()))
          return fail("reply has too many elements");
        break;
      case '(':
        if (!valid_big_number(text)) return fail("bad big number");
        if (!add_node(Type::big_number, 0, text_at, text.size())) return fail("reply has too many elements");
        break;
      case '$':
      case '!':
      case '=': {
        if (text == "?") return fail("streamed strings are not supported");
        if (!parse_int(text, n) || n < -1)
          return fail("bad bulk length '" + std::string(text.substr(0, 32)) + "'");
        if (n == -1) {
          if (marker != '$') return fail("negative length");
          if (!add_node(Type::null, 0, after_line, 0)) return fail("reply has too many elements");
          pos_ = after_line;
          continue;
        }
        if (static_cast<std::uint64_t>(n) > limits_.max_bulk_length)
          return fail("bulk string of " + std::to_string(n) + " bytes exceeds the limit of " +
                      std::to_string(limits_.max_bulk_length));
        const std::size_t len = static_cast<std::size_t>(n);
        if (buf.size() < after_line + len + 2) {
          crlf_scan_ = 0;
          return Status::need_more;  // the header is re-read next time: cheap
        }
        if (base[after_line + len] != '\r' || base[after_line + len + 1] != '\n')
          return fail("bulk string not terminated by CRLF");
        Type type = marker == '$'   ? Type::bulk_string
                    : marker == '!' ? Type::bulk_error
                                    : Type::verbatim_string;
        std::size_t off = after_line, l = len;
        if (type == Type::verbatim_string) {
          if (len < 4 || base[after_line + 3] != ':') return fail("verbatim string without a format");
          off += 4;
          l -= 4;
        }
        if (!add_node(type, 0, off, l)) return fail("reply has too many elements");
        pos_ = after_line + len + 2;
        crlf_scan_ = 0;
        continue;
      }
      case '*':
      case '%':
      case '~':
      case '>':
      case '|': {
        if (text == "?") return fail("streamed aggregates are not supported");
        if (!parse_int(text, n) || n < -1)
          return fail("bad aggregate size '" + std::string(text.substr(0, 32)) + "'");
        if (n == -1) {
          if (marker != '*') return fail("negative aggregate size");
          if (!add_node(Type::null, 0, after_line, 0)) return fail("reply has too many elements");
          break;
        }
        if (static_cast<std::uint64_t>(n) > limits_.max_aggregate_size)
          return fail("aggregate of " + std::to_string(n) + " elements exceeds the limit of " +
                      std::to_string(limits_.max_aggregate_size));
        const Type type = marker == '*'   ? Type::array
                          : marker == '%' ? Type::map
                          : marker == '~' ? Type::set
                                          : Type::push;
        if (!open_aggregate(type, n, marker == '|')) return fail("reply has too many elements");
        break;
      }
      default:
        return fail(std::string("unknown type byte 0x") + "0123456789abcdef"[(marker >> 4) & 0xf] +
                    "0123456789abcdef"[marker & 0xf]);
    }
    pos_ = after_line;
    crlf_scan_ = 0;
  }
}

}  // namespace swarmkeeper::resp
