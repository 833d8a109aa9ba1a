// SPDX-License-Identifier: Apache-2.0
// pipeline.cpp — many commands in one write, replies in order; and a transaction.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "swarmkeeper/client/client.hpp"

// A pipeline, then a transaction. main() closes the client after it on every path: an
// open Client keeps its pool reconnecting, so io.run() would not return after a failure.
boost::asio::awaitable<int> count(swarmkeeper::Client& client) {
  swarmkeeper::resp::Pipeline p;
  p.add("SET", "example:counter", "0").add("INCRBY", "example:counter", 41).add("INCR", "example:counter");
  auto replies = co_await client.pipeline(std::move(p));  // one write, three replies
  if (!replies) {
    std::cerr << "pipeline failed: " << replies.error().message() << "\n";
    co_return 1;
  }
  std::cout << "counter = " << (*replies)[2].integer() << "\n";  // 42
  swarmkeeper::resp::Pipeline tx;
  tx.add("INCR", "example:counter").add("GET", "example:counter");
  auto exec = co_await client.transaction(std::move(tx));  // MULTI ... EXEC, atomic
  if (!exec) {
    std::cerr << "transaction failed: " << exec.error().message() << "\n";
    co_return 1;
  }
  std::cout << "after the transaction = " << (*exec)[1].str() << "\n";  // 43
  co_return (*replies)[2].integer() == 42 ? 0 : 1;
}

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
        rc = co_await count(client);
        client.close();
      },
      boost::asio::detached);
  io.run();
  return rc;
}
