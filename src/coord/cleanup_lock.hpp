// SPDX-License-Identifier: Apache-2.0
// cleanup_lock.hpp — one cleanup at a time per database: the lock key
// swarmkeeper:cleanup:lock, taken with SET NX PX and a token "host:pid:random",
// renewed every ttl/3 while the run lasts (every ttl/10 while its master cannot be
// reached, stopping the run before the lock could expire), released (compare-and-delete,
// which finds out whether it was still ours) on every path
// out of the run. A lock whose holder was on this host and whose process is gone is
// stale: it is taken over at once instead of waiting for its time-to-live.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "coord/in_flight.hpp"
#include "swarmkeeper/client/router.hpp"

namespace swarmkeeper::coord {

inline constexpr const char* kLockKey = "swarmkeeper:cleanup:lock";

class CleanupLock {
 public:
  enum class Outcome {
    taken,         ///< ours
    taken_over,    ///< ours, after removing a dead holder's lock
    busy,          ///< another live cleanup holds it
    without_lock,  ///< the server is out of memory (SET refused with OOM): run unlocked
  };
  /// On a cluster the lock lives on its key's master (the router sends it there).
  CleanupLock(boost::asio::any_io_executor ex, std::shared_ptr<Router> router, std::chrono::milliseconds ttl);

  /// Takes the lock (waiting for it if asked, until *stop). Errors: the server's
  /// (readonly on a replica, no_permission, connection errors).
  boost::asio::awaitable<Result<Outcome>> acquire(bool wait, const std::atomic<bool>* stop);
  /// Releases it if we hold it; if the run's connection is gone, on a new one (the router
  /// reconnects: a second cleanup should not wait out the time-to-live of a run that
  /// already ended).
  boost::asio::awaitable<void> release();
  /// Stops the renewal loop (shutdown).
  void stop();
  /// Things worth reporting.
  const std::vector<std::string>& notes() const noexcept { return notes_; }
  /// The lock could not be renewed for its whole time-to-live, or was found expired or
  /// taken (during the run, or found so at release): the run must stop at its next safe
  /// point, and says so (lost_reason()).
  /// Also true once the last renewal's deadline has passed with none applied since.
  bool lost() const noexcept;
  std::string lost_reason() const;

 private:
  boost::asio::awaitable<void> renew_loop();
  boost::asio::awaitable<bool> take_over_if_dead(const std::string& holder);

  std::shared_ptr<Router> conn_;
  std::chrono::milliseconds ttl_;
  std::string token_;
  bool held_ = false, done_ = false, lost_ = false;
  std::chrono::steady_clock::time_point deadline_{};  // a tenth of the ttl before it could expire
  std::string lost_reason_;
  boost::asio::steady_timer timer_;
  InFlight renewer_;
  std::vector<std::string> notes_;
};

}  // namespace swarmkeeper::coord
