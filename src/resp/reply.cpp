// SPDX-License-Identifier: Apache-2.0
// reply.cpp — navigation and ownership of parsed replies (see reply.hpp).
#include "swarmkeeper/resp/reply.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace swarmkeeper::resp {

const char* type_name(Type t) noexcept {
  switch (t) {
    case Type::simple_string: return "simple_string";
    case Type::error: return "error";
    case Type::integer: return "integer";
    case Type::bulk_string: return "bulk_string";
    case Type::null: return "null";
    case Type::array: return "array";
    case Type::map: return "map";
    case Type::set: return "set";
    case Type::double_number: return "double";
    case Type::boolean: return "boolean";
    case Type::big_number: return "big_number";
    case Type::verbatim_string: return "verbatim_string";
    case Type::bulk_error: return "bulk_error";
    case Type::push: return "push";
  }
  return "unknown";
}

bool ReplyRef::is_string() const noexcept {
  const Type t = type();
  return t == Type::simple_string || t == Type::bulk_string || t == Type::verbatim_string;
}

ReplyRef ReplyRef::operator[](std::size_t i) const noexcept {
  std::uint32_t at = index_ + 1;
  while (i-- > 0) at = nodes_[at].next;
  return {nodes_, at, base_};
}

std::optional<std::int64_t> ReplyRef::as_integer() const noexcept {
  if (type() == Type::integer) return node().value;
  if (!is_string()) return std::nullopt;
  std::string_view s = str();
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> ReplyRef::as_double() const noexcept {
  if (type() == Type::integer) return static_cast<double>(node().value);
  if (type() != Type::double_number && !is_string()) return std::nullopt;
  std::string_view s = str();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  if (s == "nan" || s == "-nan") return std::nan("");
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Reply::Reply() : nodes_{Node{Type::null, 0, 1, 0, 0, 0}} {}

Reply::Reply(const ReplyView& view) {
  const auto src = view.nodes();
  std::size_t bytes = 0;
  for (const Node& n : src) bytes += n.length;
  storage_.reserve(bytes);
  nodes_.assign(src.begin(), src.end());
  for (Node& n : nodes_) {
    if (n.length == 0) {
      n.offset = 0;
      continue;
    }
    const std::size_t at = storage_.size();
    storage_.append(view.base() + n.offset, n.length);
    n.offset = at;
  }
  if (nodes_.empty()) nodes_.push_back(Node{Type::null, 0, 1, 0, 0, 0});
}

namespace {

void render(ReplyRef r, std::string& out) {
  switch (r.type()) {
    case Type::null: out += "null"; return;
    case Type::integer: out += std::to_string(r.integer()); return;
    case Type::boolean: out += r.integer() ? "true" : "false"; return;
    case Type::double_number:
    case Type::big_number: out += r.str(); return;
    case Type::error:
    case Type::bulk_error:
      out += "(error) ";
      out += r.str();
      return;
    case Type::simple_string:
    case Type::bulk_string:
    case Type::verbatim_string:
      out += '"';
      for (char c : r.str()) {
        if (c == '"' || c == '\\') {
          out += '\\';
          out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\x";
          out += "0123456789abcdef"[(c >> 4) & 0xf];
          out += "0123456789abcdef"[c & 0xf];
        } else
          out += c;
      }
      out += '"';
      return;
    case Type::array:
    case Type::set:
    case Type::push:
    case Type::map: {
      const bool map = r.type() == Type::map;
      out += map ? '{' : r.type() == Type::set ? '(' : r.type() == Type::push ? '<' : '[';
      std::size_t i = 0;
      for (ReplyRef c : r) {
        if (i > 0) out += (map && i % 2 == 1) ? ": " : ", ";
        render(c, out);
        ++i;
      }
      out += map ? '}' : r.type() == Type::set ? ')' : r.type() == Type::push ? '>' : ']';
      return;
    }
  }
}

}  // namespace

std::string to_string(ReplyRef r) {
  std::string out;
  render(r, out);
  return out;
}

std::optional<std::int64_t> time_ms(ReplyRef r) noexcept {
  if (r.size() != 2) return std::nullopt;
  const auto s = r[0].as_integer(), us = r[1].as_integer();
  if (!s || !us || *s < 0 || *us < 0 || *us > 999999 ||
      *s > std::numeric_limits<std::int64_t>::max() / 1000 - 1)
    return std::nullopt;
  return *s * 1000 + *us / 1000;
}

}  // namespace swarmkeeper::resp
