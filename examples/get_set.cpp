// SPDX-License-Identifier: Apache-2.0
// get_set.cpp — a GET/SET with the pooled, multiplexed client, in a coroutine.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "swarmkeeper/client/client.hpp"

// SET then GET (below). main() closes the client after it on every path: an open Client
// keeps its pool reconnecting, so io.run() would not return after a failure.
boost::asio::awaitable<int> set_then_get(swarmkeeper::Client& client);

int main(int argc, char** argv) {
  auto connection = swarmkeeper::parse_redis_url(argc > 1 ? argv[1] : "redis://127.0.0.1:6379");
  if (!connection) return std::cerr << connection.error().message() << "\n", 64;
  boost::asio::io_context io;
  swarmkeeper::ClientOptions options;
  options.connection = *connection;
  swarmkeeper::Client client(io.get_executor(), options);
  int rc = 1;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        rc = co_await set_then_get(client);
        client.close();
      },
      boost::asio::detached);
  io.run();
  return rc;
}

boost::asio::awaitable<int> set_then_get(swarmkeeper::Client& client) {
  auto set = co_await client.set("example:task:1", R"({"status":"done"})");  // compressed when >= 1 KB
  if (!set) {
    std::cerr << "SET failed: " << set.error().message() << "\n";
    co_return 1;
  }
  auto value = co_await client.get("example:task:1");  // Result<std::optional<std::string>>
  if (!value || !*value) {
    std::cerr << "GET failed\n";
    co_return 1;
  }
  std::cout << "example:task:1 = " << **value << "\n";
  co_return 0;
}
