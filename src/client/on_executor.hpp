// SPDX-License-Identifier: Apache-2.0
// on_executor.hpp — runs an awaitable on a given executor and comes back: directly when
// the caller already runs there, else by hopping over (co_spawn) and back. How the
// Client and the cache keep their state on one serial executor while being awaited
// from anywhere. And start_on(): the same from a thread outside coroutines, as a future.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <future>
#include <memory>
#include <optional>

namespace swarmkeeper::client_detail {

template <class T>
boost::asio::awaitable<T> on_executor(boost::asio::any_io_executor ex, boost::asio::awaitable<T> body) {
  std::optional<T> out;  // (co_spawn's own result slot would need a default-constructible T)
  if ((co_await boost::asio::this_coro::executor) == ex) {
    out.emplace(co_await std::move(body));
  } else {
    co_await boost::asio::co_spawn(
        ex, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(body)); },
        boost::asio::use_awaitable);
  }
  co_return std::move(*out);
}

/// Starts aw on ex (an I/O thread's); the future holds its result (or its exception).
template <class T>
std::future<T> start_on(boost::asio::any_io_executor ex, boost::asio::awaitable<T> aw) {
  auto promise = std::make_shared<std::promise<T>>();
  auto fut = promise->get_future();
  boost::asio::co_spawn(
      ex,
      [promise, aw = std::move(aw)]() mutable -> boost::asio::awaitable<void> {
        promise->set_value(co_await std::move(aw));
      },
      [promise](std::exception_ptr e) {
        if (e) promise->set_exception(e);
      });
  return fut;
}

}  // namespace swarmkeeper::client_detail
