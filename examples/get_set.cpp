// SPDX-License-Identifier: Apache-2.0
// get_set.cpp — a GET/SET with the pooled, multiplexed client, in a coroutine.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "swarmkeeper/client.hpp"

int main(int argc, char** argv) {
  auto connection = swarmkeeper::parse_redis_url(argc > 1 ? argv[1] : "redis://127.0.0.1:6379");
  if (!connection) return std::cerr << connection.error().message() << "\n", 64;
  boost::asio::io_context io;
  swarmkeeper::ClientOptions options;
  options.connection = *connection;
  swarmkeeper::Client client(io.get_executor(), options);
  int rc = 1;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    auto set = co_await client.set("example:task:1", R"({"status":"done"})");  // compressed when >= 1 KB
    if (!set) {
      std::cerr << "SET failed: " << set.error().message() << "\n";
      co_return;
    }
    auto value = co_await client.get("example:task:1");  // Result<std::optional<std::string>>
    if (!value || !*value) {
      std::cerr << "GET failed\n";
      co_return;
    }
    std::cout << "example:task:1 = " << **value << "\n";
    rc = 0;
    client.close();
  }, boost::asio::detached);
  io.run();
  return rc;
}
