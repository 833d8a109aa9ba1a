// SPDX-License-Identifier: Apache-2.0
// error.hpp — swarmkeeper's error codes and Result<T>.
//
// Every fallible call returns a Result<T>: either a value or an Error (a code from
// swarmkeeper::Errc plus a human-readable message that says what failed, against
// what, and what to try). Errc is registered as a std::error_category so codes mix
// with std::error_code and Asio's error codes. Each code says whether retrying can
// help (is_transient), so the pool and the cleanup know what to retry.
//
//   Result<int> r = parse_port("6380");
//   if (!r) { std::cerr << r.error().message() << "\n"; return 1; }
//   use(*r);
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace swarmkeeper {

enum class Errc {
  ok = 0,
  /// The server refused the TCP connection (nothing listens there). Transient.
  connection_refused,
  /// The host name could not be resolved. Permanent until configuration changes.
  dns_failure,
  /// Connect, handshake or command did not finish within its timeout. Transient.
  timeout,
  /// The connection closed or broke while a command was in flight. Transient.
  connection_lost,
  /// AUTH/HELLO rejected the user name or password. Permanent.
  auth_failed,
  /// The server answered with an error reply (-ERR, -WRONGTYPE, ...). Permanent.
  server_error,
  /// The ACL forbids this command or key (-NOPERM). Permanent.
  no_permission,
  /// The server is loading its dataset (-LOADING). Transient.
  server_loading,
  /// A script is running and blocks the server (-BUSY). Transient.
  server_busy,
  /// A write was sent to a replica (-READONLY). Transient (failover).
  read_only,
  /// The server is out of memory (-OOM). Transient.
  out_of_memory,
  /// A script SHA is not cached (-NOSCRIPT). Permanent until loaded.
  no_script,
  /// The byte stream is not valid RESP, or exceeds a configured limit. Permanent.
  protocol_error,
  /// A reply had a type or shape the caller did not expect. Permanent.
  unexpected_reply,
  /// Bad configuration or argument (URL, option, flag). Permanent.
  invalid_argument,
  /// TLS handshake or certificate verification failed. Permanent.
  tls_error,
  /// The operation was cancelled (connection closed by us, shutdown). Permanent.
  cancelled,
  /// Some other I/O failure from the operating system. Transient.
  io_error,
};

/// The category of Errc values: name() is "swarmkeeper".
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// True when retrying the same operation later may succeed.
bool is_transient(Errc e) noexcept;

/// Short stable name of a code, e.g. "connection_refused".
const char* errc_name(Errc e) noexcept;

/// An error code and a message a user can act on.
class Error {
 public:
  Error() = default;
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  bool transient() const noexcept { return is_transient(code_); }
  explicit operator bool() const noexcept { return code_ != Errc::ok; }

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

/// Either a T or an Error. Accessing the wrong side is a programming error (asserts).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) { assert(std::get<Error>(v_)); }  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

/// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT
  bool ok() const noexcept { return !e_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& { return e_; }
  Error&& error() && { return std::move(e_); }

 private:
  Error e_;
};

}  // namespace swarmkeeper

template <>
struct std::is_error_code_enum<swarmkeeper::Errc> : std::true_type {};
