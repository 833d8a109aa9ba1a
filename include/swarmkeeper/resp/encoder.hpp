// SPDX-License-Identifier: Apache-2.0
// encoder.hpp — RESP command encoding. No I/O.
//
// Commands go to Redis as RESP arrays of bulk strings, byte for byte what the caller
// gave: binary data, empty strings and embedded CR/LF are safe; nothing is parsed or
// formatted behind the caller's back (integers are rendered in decimal).
//
//   Command cmd("SET");
//   cmd.arg(key).arg(value).arg("PX").arg(5000);
//   std::string wire;
//   cmd.append_to(wire);          // *5\r\n$3\r\nSET\r\n...
//
//   Pipeline p;                   // many commands, one buffer, one write
//   p.add("GET", "a"); p.add("GET", "b");
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace swarmkeeper::resp {

/// Appends `$<len>\r\n<data>\r\n` to out.
void append_bulk(std::string& out, std::string_view data);
/// Appends `*<n>\r\n` (or another aggregate marker) to out.
void append_header(std::string& out, char marker, std::size_t n);
/// Appends one command (array of bulk strings) to out.
void append_command(std::string& out, std::span<const std::string_view> argv);
inline void append_command(std::string& out, std::initializer_list<std::string_view> argv) {
  append_command(out, std::span<const std::string_view>(argv.begin(), argv.size()));
}

/// A view of one encoded command's arguments (a Command's, or one in a Pipeline).
class CommandView {
 public:
  CommandView(std::string_view body, std::size_t argc) noexcept : body_(body), argc_(argc) {}
  std::size_t argc() const noexcept { return argc_; }
  /// The first argument (the command name as given), or "".
  std::string_view name() const noexcept { return arg_at(0); }
  /// The i-th argument, or "" past the end. O(i).
  std::string_view arg_at(std::size_t i) const noexcept {
    std::size_t at = 0;
    for (std::size_t k = 0; k <= i && at < body_.size(); ++k) {
      const std::size_t crlf = body_.find("\r\n", at);
      std::size_t len = 0;
      std::from_chars(body_.data() + at + 1, body_.data() + crlf, len);
      if (k == i) return body_.substr(crlf + 2, len);
      at = crlf + 2 + len + 2;
    }
    return {};
  }

 private:
  std::string_view body_;  // the bulk strings, without the array header
  std::size_t argc_;
};

/// One command being built argument by argument. Cheap to move; copyable.
class Command {
 public:
  Command() = default;
  explicit Command(std::string_view name) { arg(name); }

  Command& arg(std::string_view a) {
    append_bulk(body_, a);
    ++argc_;
    return *this;
  }
  Command& arg(const char* a) { return arg(std::string_view(a)); }
  Command& arg(const std::string& a) { return arg(std::string_view(a)); }
  template <std::integral I>
  Command& arg(I v) {
    char tmp[24];
    auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
    (void)ec;
    return arg(std::string_view(tmp, static_cast<std::size_t>(end - tmp)));
  }
  /// Appends each element of a range of string-like values.
  template <class Range>
  Command& args(const Range& r) {
    for (const auto& a : r) arg(a);
    return *this;
  }

  std::size_t argc() const noexcept { return argc_; }
  bool empty() const noexcept { return argc_ == 0; }
  CommandView view() const noexcept { return CommandView(body_, argc_); }
  /// The first argument (the command name as given), or "".
  std::string_view name() const noexcept { return view().name(); }
  /// The i-th argument, or "" past the end. O(i).
  std::string_view arg_at(std::size_t i) const noexcept { return view().arg_at(i); }
  /// Appends the encoded command to out.
  void append_to(std::string& out) const {
    append_header(out, '*', argc_);
    out += body_;
  }
  /// The encoded command.
  std::string encoded() const {
    std::string s;
    append_to(s);
    return s;
  }

 private:
  std::string body_;
  std::size_t argc_ = 0;
};

/// Several commands encoded back to back: sent in one write, answered in order.
class Pipeline {
 public:
  Pipeline& add(const Command& c) {
    c.append_to(buf_);
    ++count_;
    return *this;
  }
  template <class... Args>
  Pipeline& add(std::string_view name, const Args&... args) {
    Command c(name);
    (c.arg(args), ...);
    return add(c);
  }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  const std::string& buffer() const noexcept { return buf_; }
  void clear() noexcept {
    buf_.clear();
    count_ = 0;
  }
  /// Calls f(CommandView) for each command, in order, until f returns false.
  template <class F>
  void for_each(F&& f) const {
    const std::string_view b = buf_;
    std::size_t at = 0;
    while (at < b.size()) {
      std::size_t crlf = b.find("\r\n", at);
      std::size_t argc = 0;
      std::from_chars(b.data() + at + 1, b.data() + crlf, argc);
      const std::size_t start = crlf + 2;
      at = start;
      for (std::size_t k = 0; k < argc; ++k) {
        crlf = b.find("\r\n", at);
        std::size_t len = 0;
        std::from_chars(b.data() + at + 1, b.data() + crlf, len);
        at = crlf + 2 + len + 2;
      }
      if (!f(CommandView(b.substr(start, at - start), argc))) return;
    }
  }
  void reserve(std::size_t bytes) { buf_.reserve(bytes); }

 private:
  std::string buf_;
  std::size_t count_ = 0;
};

}  // namespace swarmkeeper::resp
