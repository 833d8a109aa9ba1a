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
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

/// The code a server's error reply starts with, for the ones a client decides on.
enum class ServerCode : std::uint8_t {
  none,             ///< not from a server's error reply
  other,            ///< any other code (ERR, WRONGTYPE, NOPERM, ...): see Errc
  moved,            ///< MOVED slot host:port: the slot is served elsewhere now
  ask,              ///< ASK slot host:port: this key is being migrated; ask there, once, after ASKING
  try_again,        ///< TRYAGAIN: a multi-key command met a slot in migration; retry later
  cluster_down,     ///< CLUSTERDOWN: the cluster cannot serve the slot right now; retry later
  cross_slot,       ///< CROSSSLOT: one command's keys hash to several slots
  wrong_type,       ///< WRONGTYPE: the key holds another type
  unknown_command,  ///< ERR unknown command (e.g. HELLO before Redis 6)
  no_proto,         ///< NOPROTO: the protocol version asked for is not spoken
};

/// Where a MOVED or ASK reply sends a command.
struct Redirect {
  bool ask = false;  ///< ASK: this one command, after ASKING; MOVED: the slot, for good
  std::uint16_t slot = 0;
  std::string host;  ///< as the server wrote it; "" when it does not know the endpoint
  std::uint16_t port = 0;
};

/// What a server's error reply says: its code, and for MOVED/ASK where to go. Parses the
/// reply's text (e.g. "MOVED 3999 10.0.0.2:6381"), once, where the reply is read; a
/// MOVED/ASK whose target does not parse is `other`. No I/O.
struct ServerError {
  ServerCode code = ServerCode::other;
  std::optional<Redirect> redirect;
};
ServerError classify_server_error(std::string_view reply_text);

/// An error code and a message a user can act on; an error from a server's reply also
/// carries the reply's code (and, for MOVED/ASK, its target), so no one reads the text.
class Error {
 public:
  Error() = default;
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  bool transient() const noexcept { return is_transient(code_); }
  explicit operator bool() const noexcept { return code_ != Errc::ok; }
  ServerCode server_code() const noexcept { return server_code_; }
  /// For server_code() moved or ask: where to go; else null.
  const Redirect* redirect() const noexcept { return redirect_.get(); }
  /// Tags this error with what the server's reply said.
  Error& from_server(ServerError s) {
    server_code_ = s.code;
    redirect_ = s.redirect ? std::make_shared<const Redirect>(std::move(*s.redirect)) : nullptr;
    return *this;
  }

 private:
  Errc code_ = Errc::ok;
  std::string message_;
  ServerCode server_code_ = ServerCode::none;
  std::shared_ptr<const Redirect> redirect_;  // shared: errors are copied; a redirect is rare
};

/// Either a T or an Error. Accessing the wrong side is a programming error (asserts).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                                    // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) { assert(std::get<Error>(v_)); }  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

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
