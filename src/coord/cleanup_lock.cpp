// SPDX-License-Identifier: Apache-2.0
// cleanup_lock.cpp — see cleanup_lock.hpp.
#include "coord/cleanup_lock.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "client/route_policy.hpp"
#include "coord/scripts.hpp"

namespace swarmkeeper::coord {

namespace asio = boost::asio;

namespace {

std::string host_name() {
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

CleanupLock::CleanupLock(asio::any_io_executor ex, std::shared_ptr<Router> conn,
                         std::chrono::milliseconds ttl)
    : conn_(std::move(conn)), ttl_(ttl), timer_(ex), renewer_(ex, 1) {}

asio::awaitable<Result<CleanupLock::Outcome>> CleanupLock::acquire(bool wait, const std::atomic<bool>* stop) {
  std::random_device rd;
  token_ = host_name() + ":" + std::to_string(::getpid()) + ":" + std::to_string(rd()) + std::to_string(rd());
  bool took_over = false;
  auto lock_sent = std::chrono::steady_clock::now();
  for (;;) {
    lock_sent = std::chrono::steady_clock::now();
    auto r = co_await conn_->command(
        resp::Command("SET").arg(kLockKey).arg(token_).arg("NX").arg("PX").arg(ttl_.count()));
    if (!r) {
      if (r.error().code() == Errc::out_of_memory) co_return Outcome::without_lock;
      co_return r.error();
    }
    if (!r->is_null()) break;
    auto holder = co_await conn_->command(resp::Command("GET").arg(kLockKey));
    if (holder && !holder->is_null() && co_await take_over_if_dead(std::string(holder->str()))) {
      took_over = true;
      continue;
    }
    if (!wait || (stop != nullptr && stop->load())) co_return Outcome::busy;
    timer_.expires_after(std::chrono::milliseconds(500));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  held_ = true;
  deadline_ = lock_sent + ttl_ - std::max(ttl_ / 10, std::chrono::milliseconds(10));
  asio::co_spawn(timer_.get_executor(), renew_loop(), asio::detached);
  co_return took_over ? Outcome::taken_over : Outcome::taken;
}

// A holder "host:pid:..." on this host whose process no longer exists is dead.
asio::awaitable<bool> CleanupLock::take_over_if_dead(const std::string& holder) {
  const auto colon = holder.find(':');
  if (colon == std::string::npos || holder.substr(0, colon) != host_name()) co_return false;
  const auto colon2 = holder.find(':', colon + 1);
  long pid = 0;
  try {
    pid = std::stol(holder.substr(colon + 1, colon2 - colon - 1));
  } catch (...) {
    co_return false;
  }
  if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
    co_return false;
  auto r =
      co_await conn_->command(resp::Command("EVAL").arg(kReleaseLockScript).arg(1).arg(kLockKey).arg(holder));
  co_return r && r->integer() == 1;
}

// Scripts refused (the cleanup's user may not EVAL): NOPERM, or an unknown command.
static bool scripts_refused(const Error& e) {
  return e.code() == Errc::no_permission || e.server_code() == ServerCode::unknown_command;
}

bool CleanupLock::lost() const noexcept {
  return lost_ || (held_ && !done_ && std::chrono::steady_clock::now() >= deadline_);
}

std::string CleanupLock::lost_reason() const {
  if (!lost_reason_.empty()) return lost_reason_;
  return "the cleanup lock could not be renewed in time (its server did not answer) and may have expired: "
         "the run "
         "stopped so that two cleanups never work at once; the next run finishes the job";
}

asio::awaitable<void> CleanupLock::renew_loop() {
  co_await renewer_.acquire();
  // The lock expires ttl after the last renewal the server applied, at the latest ttl
  // after that renewal was sent. lost() turns true a tenth of the ttl before then,
  // whatever renewal is still on its way (a command to an unreachable master can take
  // longer than the ttl). While renewals fail (a failover moves the lock's slot to a new
  // master; the target routes there once it knows) they are retried every tenth of the
  // ttl; once the deadline has passed the run stops, and says why.
  using Clock = std::chrono::steady_clock;
  const auto retry = std::max(ttl_ / 10, std::chrono::milliseconds(10));
  auto wait = ttl_ / 3;
  while (!done_) {
    timer_.expires_after(wait);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (done_) break;
    const auto sent = Clock::now();
    bool renewed = false, taken = false;
    Error failure;
    auto r = co_await conn_->command(
        resp::Command("EVAL").arg(kRenewLockScript).arg(1).arg(kLockKey).arg(token_).arg(ttl_.count()));
    if (r) {
      renewed = r->integer() == 1;
      taken = !renewed;
    } else if (scripts_refused(r.error())) {
      // Compare, then extend (a tiny race: both runs stay safe); renewed only if PEXPIRE says so.
      auto holder = co_await conn_->command(resp::Command("GET").arg(kLockKey));
      if (holder && holder->str() == token_ && !holder->is_null()) {
        auto ext = co_await conn_->command(resp::Command("PEXPIRE").arg(kLockKey).arg(ttl_.count()));
        renewed = ext && ext->integer() == 1;
        if (!ext)
          failure = ext.error();
        else
          taken = !renewed;  // gone between the GET and the PEXPIRE
      } else if (holder) {
        taken = true;
      } else {
        failure = holder.error();
      }
    } else {
      failure = r.error();
    }
    if (done_) break;
    if (renewed) {
      deadline_ = sent + ttl_ - retry;
      wait = ttl_ / 3;
      continue;
    }
    if (taken) {
      lost_ = true;
      lost_reason_ =
          "the cleanup lock expired or was taken during the run: the run stopped so that two cleanups never "
          "work at once (every delete so far was checked); the next run finishes the job";
      break;
    }
    if (Clock::now() + retry < deadline_) {
      wait = retry;
      continue;
    }
    lost_ = true;
    lost_reason_ =
        "the cleanup lock could not be renewed for its whole time-to-live (" + failure.message() +
        "): the run stopped so that two cleanups never work at once; the next run finishes the job";
    break;
  }
  renewer_.release();
}

asio::awaitable<void> CleanupLock::release() {
  done_ = true;
  timer_.cancel();
  co_await renewer_.drain();
  if (!held_) co_return;
  held_ = false;
  const resp::Command release =
      resp::Command("EVAL").arg(kReleaseLockScript).arg(1).arg(kLockKey).arg(token_);
  auto r = co_await conn_->command(release);
  bool retried = false;
  if (!r && client::node_unreachable(r.error())) {
    // The run's connection died (killed, or the server restarted): once more, on a new
    // one (the router opens it), so a second cleanup does not wait out the ttl.
    r = co_await conn_->command(release);
    retried = true;
  }
  bool ours = r && r->integer() == 1;
  if (r && !ours && retried) {
    // Nothing of ours to release: gone (by the first try, whose reply was lost, or by
    // expiry: cannot tell, so say nothing), or another run's now (taken).
    auto holder = co_await conn_->command(resp::Command("GET").arg(kLockKey));
    ours = !holder || holder->is_null();
  }
  if (!r && !client::node_unreachable(r.error()) &&
      r.error().code() != Errc::cancelled) {  // answered, refusing the script
    auto holder = co_await conn_->command(resp::Command("GET").arg(kLockKey));
    ours = holder && holder->str() == token_;
    if (ours)
      (void)co_await conn_->command(resp::Command("DEL").arg(kLockKey));
    else if (!holder)
      ours = true;  // cannot tell: say nothing rather than something false
  } else if (!r) {
    ours = true;  // the server went away (the lock expires on its own): cannot tell
  }
  if (!ours && !lost_) {  // the run ended, unaware, after the lock expired or was taken
    lost_ = true;
    lost_reason_ =
        "the cleanup lock had expired or was taken before the run ended: another cleanup may have worked "
        "beside it (every delete was still checked); the next run finishes the job";
  }
}

void CleanupLock::stop() {
  done_ = true;
  timer_.cancel();
}

}  // namespace swarmkeeper::coord
