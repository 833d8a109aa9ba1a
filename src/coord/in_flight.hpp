// in_flight.hpp — bounds how many asynchronous operations run at once (one executor).
//
//   co_await slots.acquire();          // waits while `limit` are running
//   co_spawn(ex, work_then_release(), detached);
//   ...
//   co_await slots.drain();            // waits until all have released
// REQUIRES: one waiting coroutine at a time (the waiter re-arms a shared timer).
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
    wake_.cancel();  // every waiter re-checks
  }
  boost::asio::awaitable<void> drain() {
    while (count_ > 0) co_await wait();
  }
  std::size_t count() const noexcept { return count_; }

 private:
  boost::asio::awaitable<void> wait() {
    wake_.expires_at(boost::asio::steady_timer::time_point::max());
    co_await wake_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

  std::size_t count_ = 0;
  std::size_t limit_;
  boost::asio::steady_timer wake_;
};

}  // namespace swarmkeeper::coord
