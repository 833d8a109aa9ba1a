// cleanup_lock.cpp — see cleanup_lock.hpp.
#include "coord/cleanup_lock.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <random>

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

CleanupLock::CleanupLock(asio::any_io_executor ex, std::shared_ptr<Target> conn,
                         std::chrono::milliseconds ttl)
    : conn_(std::move(conn)), ttl_(ttl), timer_(ex), renewer_(ex, 1) {}

asio::awaitable<Result<CleanupLock::Outcome>> CleanupLock::acquire(bool wait, const std::atomic<bool>* stop) {
  std::random_device rd;
  token_ = host_name() + ":" + std::to_string(::getpid()) + ":" + std::to_string(rd()) + std::to_string(rd());
  bool took_over = false;
  for (;;) {
    auto r = co_await conn_->exec(resp::Command("SET").arg(kLockKey).arg(token_).arg("NX").arg("PX").arg(ttl_.count()));
    if (!r) {
      if (r.error().code() == Errc::out_of_memory) co_return Outcome::without_lock;
      co_return r.error();
    }
    if (!r->is_null()) break;
    auto holder = co_await conn_->exec(resp::Command("GET").arg(kLockKey));
    if (holder && !holder->is_null() && co_await take_over_if_dead(std::string(holder->str()))) {
      took_over = true;
      continue;
    }
    if (!wait || (stop != nullptr && stop->load())) co_return Outcome::busy;
    timer_.expires_after(std::chrono::milliseconds(500));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  held_ = true;
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
  if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) co_return false;
  auto r = co_await conn_->exec(resp::Command("EVAL").arg(kReleaseLockScript).arg(1).arg(kLockKey).arg(holder));
  co_return r && r->integer() == 1;
}

asio::awaitable<void> CleanupLock::renew_loop() {
  co_await renewer_.acquire();
  // The lock expires ttl after the last renewal the server applied. While its master
  // cannot be reached (a failover moves the lock's slot to a new master; the target
  // routes there once it knows), renewal is tried every tenth of the ttl; when the next
  // try would come after the lock could have expired, the run stops (lost()): another
  // run may take the lock from then on, and two cleanups must never work at once.
  const auto retry = std::max(ttl_ / 10, std::chrono::milliseconds(10));
  auto renewed = std::chrono::steady_clock::now();
  auto wait = ttl_ / 3;
  while (!done_) {
    timer_.expires_after(wait);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (done_) break;
    auto r = co_await conn_->exec(resp::Command("EVAL").arg(kRenewLockScript).arg(1).arg(kLockKey).arg(token_).arg(ttl_.count()));
    bool lost = false;
    if (r) {
      lost = r->integer() == 0;
    } else if (r.error().code() == Errc::no_permission || r.error().code() == Errc::server_error) {
      // Scripts refused: compare, then extend (a tiny race: both runs stay safe).
      auto holder = co_await conn_->exec(resp::Command("GET").arg(kLockKey));
      if (holder && holder->str() == token_)
        (void)co_await conn_->exec(resp::Command("PEXPIRE").arg(kLockKey).arg(ttl_.count()));
      else
        lost = static_cast<bool>(holder);
    } else {
      if (std::chrono::steady_clock::now() - renewed + 2 * retry < ttl_) {
        wait = retry;
        continue;
      }
      lost_ = true;
      lost_reason_ = "the cleanup lock could not be renewed for its whole time-to-live (" + r.error().message() +
                     "): the run stopped so that two cleanups never work at once; the next run finishes the job";
      break;
    }
    if (lost) {
      lost_ = true;
      lost_reason_ = "the cleanup lock expired or was taken during the run: the run stopped so that two cleanups never "
                     "work at once (every delete so far was checked); the next run finishes the job";
      break;
    }
    renewed = std::chrono::steady_clock::now();
    wait = ttl_ / 3;
  }
  renewer_.release();
}

asio::awaitable<void> CleanupLock::release() {
  done_ = true;
  timer_.cancel();
  co_await renewer_.drain();
  if (!held_) co_return;
  held_ = false;
  std::shared_ptr<Target> conn = conn_;
  if (!conn->is_open()) {
    auto fresh = co_await conn_->reopen();
    if (!fresh) co_return;  // the lock expires on its own (ttl)
    conn = *fresh;
  }
  auto r = co_await conn->exec(resp::Command("EVAL").arg(kReleaseLockScript).arg(1).arg(kLockKey).arg(token_));
  bool ours = r && r->integer() == 1;
  if (!r && conn->is_open()) {
    auto holder = co_await conn->exec(resp::Command("GET").arg(kLockKey));
    ours = holder && holder->str() == token_;
    if (ours) (void)co_await conn->exec(resp::Command("DEL").arg(kLockKey));
    else if (!holder) ours = true;  // cannot tell: say nothing rather than something false
  } else if (!r) {
    ours = true;  // the server went away: cannot tell
  }
  if (!ours && !lost_) {  // the run ended, unaware, after the lock expired or was taken
    lost_ = true;
    lost_reason_ = "the cleanup lock had expired or was taken before the run ended: another cleanup may have worked "
                   "beside it (every delete was still checked); the next run finishes the job";
  }
  if (conn != conn_) conn->close();
}

void CleanupLock::stop() {
  done_ = true;
  timer_.cancel();
}

}  // namespace swarmkeeper::coord
