// SPDX-License-Identifier: Apache-2.0
// in_flight.hpp — bounds how many asynchronous operations run at once (one executor).
//
//   co_await slots.acquire();          // waits while `limit` are running
//   co_spawn(ex, work_then_release(), detached);
//   ...
//   co_await slots.drain();            // waits until all have released
// Any number of coroutines may wait: they share one timer, armed once, and release()
// wakes them all to re-check (no waiter re-arms a timer another one waits on).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>

namespace swarmkeeper::coord {

class InFlight {
 public:
  InFlight(const boost::asio::any_io_executor& ex, std::size_t limit)
      : limit_(limit == 0 ? 1 : limit), wake_(ex) {}

  boost::asio::awaitable<void> acquire() {
    while (count_ >= limit_) co_await wait();
    ++count_;
  }
  void release() {
    --count_;
    armed_ = false;
    wake_.cancel();  // every waiter re-checks
  }
  boost::asio::awaitable<void> drain() {
    while (count_ > 0) co_await wait();
  }
  std::size_t count() const noexcept { return count_; }

 private:
  boost::asio::awaitable<void> wait() {
    if (!armed_) {  // re-arming would cancel the waits already pending on the timer
      wake_.expires_at(boost::asio::steady_timer::time_point::max());
      armed_ = true;
    }
    co_await wake_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

  std::size_t count_ = 0;
  std::size_t limit_;
  bool armed_ = false;
  boost::asio::steady_timer wake_;
};

}  // namespace swarmkeeper::coord
