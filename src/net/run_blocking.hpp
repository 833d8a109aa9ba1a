// SPDX-License-Identifier: Apache-2.0
// run_blocking.hpp — drive one awaitable to completion from plain (non-coroutine) code.
//
// Runs io's handlers until the awaitable finishes (other work on io progresses too) and
// returns its value; an exception thrown inside is rethrown here. REQUIRES: called on
// the thread that runs io, not from inside one of io's handlers.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>

namespace swarmkeeper::net {

template <class T>
T run_blocking(boost::asio::io_context& io, boost::asio::awaitable<T> aw) {
  std::optional<T> out;
  std::exception_ptr failure;
  bool done = false;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(aw)); },
      [&](std::exception_ptr e) {
        failure = e;
        done = true;
      });
  io.restart();
  while (!done) io.run_one();  // NOLINT(bugprone-infinite-loop): the handler run_one() runs sets done
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

}  // namespace swarmkeeper::net
