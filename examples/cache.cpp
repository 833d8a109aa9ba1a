// SPDX-License-Identifier: Apache-2.0
// cache.cpp — the two-tier cache: an in-process L1 in front of Redis, kept correct by
// server-assisted invalidation (RESP3 CLIENT TRACKING).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>

#include "swarmkeeper/cache/two_tier_cache.hpp"

// A write, then two reads: the first from Redis, the second from L1. main() closes the
// client after it on every path: an open Client keeps its pool reconnecting, so io.run()
// would not return after a failure.
boost::asio::awaitable<int> read_twice(swarmkeeper::Client& client) {
  // Options in a variable of their own: GCC 12 destroys a braced temporary inside a
  // co_await expression twice.
  swarmkeeper::cache::CacheOptions cache_options;
  cache_options.prefix = "example:cache:";
  auto cache = co_await swarmkeeper::cache::TwoTierCache::open(client, cache_options);
  if (!cache) {
    std::cerr << "cache: " << cache.error().message() << "\n";
    co_return 1;
  }
  int rc = 1;
  if (auto set = co_await (*cache)->set("user:42", R"({"name":"Ada"})", std::chrono::minutes(10)); !set) {
    std::cerr << "SET failed: " << set.error().message() << "\n";
  } else {
    auto first = co_await (*cache)->get("user:42");   // from Redis, then kept in L1
    auto second = co_await (*cache)->get("user:42");  // from L1
    if (first && second && *first && *second) {
      std::cout << "user:42 = " << **second << " (L1 hits: " << (*cache)->stats().hits << ")\n";
      rc = 0;
    }
  }
  (*cache)->close();
  co_return rc;
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
        rc = co_await read_twice(client);
        client.close();
      },
      boost::asio::detached);
  io.run();
  return rc;
}
