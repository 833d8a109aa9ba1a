// SPDX-License-Identifier: Apache-2.0
// on_executor.hpp — runs an awaitable on a given executor and comes back: directly when
// the caller already runs there, else by hopping over (co_spawn) and back. How the
// Client and the cache keep their state on one serial executor while being awaited
// from anywhere.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace swarmkeeper::client_detail {

template <class T>
boost::asio::awaitable<T> on_executor(boost::asio::any_io_executor ex, boost::asio::awaitable<T> body) {
  std::optional<T> out;  // (co_spawn's own result slot would need a default-constructible T)
  if ((co_await boost::asio::this_coro::executor) == ex) {
    out.emplace(co_await std::move(body));
  } else {
    co_await boost::asio::co_spawn(
        ex, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(body)); }, boost::asio::use_awaitable);
  }
  co_return std::move(*out);
}

}  // namespace swarmkeeper::client_detail
