// SPDX-License-Identifier: Apache-2.0
// web_auth.hpp — basic authentication for the dashboard: checking credentials against
// bcrypt hashes (the system's crypt), and slowing down sources that keep failing. No
// I/O; the HTTP server calls these.
//
// bcrypt is slow on purpose (~50 ms at cost 10), and a browser sends the credentials on
// every request: a successful check is remembered (by a SHA-256 of user, password and
// hash, never the password) so only the first request of a session pays for it. A
// failed check is never remembered, and an unknown user costs a bcrypt at the cost of a
// user picked by a keyed hash of the name, so timing tells no one which names exist,
// even when users' costs differ.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace swarmkeeper::monitor {

/// The SHA-256 of `in`, as 32 raw bytes.
std::string sha256(std::string_view in);
std::string base64_encode(std::string_view in);
/// Standard alphabet, padding required; nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view in);

class BasicAuth {
 public:
  /// users: name → bcrypt hash (checked by load_web_config). `previous`: the config
  /// this one replaces; its remembered successes carry over (each is bound to its hash,
  /// so one whose user or hash changed simply never matches).
  explicit BasicAuth(std::map<std::string, std::string> users, const BasicAuth* previous = nullptr);
  bool enabled() const { return !users_.empty(); }

  enum class Outcome {
    ok,         ///< a configured user with the right password
    missing,    ///< no Authorization header, or not the Basic scheme: ask (401)
    malformed,  ///< Basic, but not base64 of "user:password"
    wrong,      ///< an unknown user, a wrong password, or one bcrypt cannot hold (NUL, over 72 bytes)
  };
  /// The outcome if it needs no bcrypt (missing, malformed, a remembered success);
  /// nullopt when check() must run. Thread-safe and quick: for the server's thread.
  std::optional<Outcome> quick_check(std::string_view authorization) const;
  /// Checks an Authorization header's value ("" when there is none). Thread-safe; takes
  /// a bcrypt's time (~50 ms at cost 10) unless quick_check() answers, so call it off
  /// any latency-sensitive thread.
  Outcome check(std::string_view authorization) const;

 private:
  struct Credentials {
    std::string user, password;
  };
  // The Basic scheme's credentials; nullopt and the outcome when there are none.
  static std::optional<Credentials> parse(std::string_view authorization, Outcome& otherwise);
  static std::string digest(std::string_view user, std::string_view password, std::string_view hash);
  std::map<std::string, std::string> users_;  // constant after construction
  const std::string& dummy_for(std::string_view name) const;
  std::vector<std::string> dummy_hashes_;     // constant: one per user, at its cost (dummy_for picks)
  std::array<unsigned char, 32> name_key_{};  // constant: random, keys dummy_for's pick
  mutable std::mutex mu_;
  mutable std::set<std::string> remembered_;  // guarded by mu_; digests of successful checks
  static constexpr std::size_t kMaxRemembered = 1024;
};

/// Per-source slowdown of failed logins. The first kFree failures in a window cost
/// nothing; each one after doubles the wait before that source's next check, from
/// 250 ms up to 10 s. A source's count is forgotten after 15 minutes without a failure.
/// At most kMaxSources are tracked; forgotten ones go first, then the quietest. A source
/// has at most one check under way (begin_check/end_check): guesses sent in parallel
/// wait their turn, each after the delay the one before earned, and a source with a
/// check under way counts as not clean. Not thread-safe (the server's thread owns it).
class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kFree = 3;
  static constexpr std::size_t kMaxSources = 4096;
  static constexpr std::chrono::minutes kForget{15};

  /// How long a request from `source` waits before its credentials are checked.
  std::chrono::milliseconds delay(const std::string& source, Clock::time_point now);
  void failed(const std::string& source, Clock::time_point now);
  void succeeded(const std::string& source);
  /// Whether `source` has no failure on record (none, or forgotten) and no check under way.
  bool clean(const std::string& source, Clock::time_point now) const;
  /// Takes `source`'s one check slot; false when a check of its is under way already.
  bool begin_check(const std::string& source);
  void end_check(const std::string& source);
  bool checking(const std::string& source) const;
  std::size_t sources() const { return sources_.size(); }

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point last;
  };
  std::unordered_map<std::string, Entry> sources_;
  std::unordered_set<std::string> checking_;  // at most one a connection
};

}  // namespace swarmkeeper::monitor
