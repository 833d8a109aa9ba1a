// SPDX-License-Identifier: Apache-2.0
// cluster.cpp — the same calls on a Redis Cluster: slots routed, MOVED/ASK followed,
// multi-key commands split by slot and merged in order.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "swarmkeeper/client/cluster_client.hpp"

// MSET and MGET across three slots. main() closes the client after it on every path: an
// open ClusterClient keeps its pools reconnecting, so io.run() would not return after a
// failure.
boost::asio::awaitable<int> three_slots(swarmkeeper::ClusterClient& cluster) {
  if (auto up = co_await cluster.connect(); !up) {
    std::cerr << "no cluster: " << up.error().message() << "\n";
    co_return 1;
  }
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"example:a", "1"}, {"example:b", "2"}, {"example:c", "3"}};
  std::vector<std::string> keys = {"example:a", "example:b", "example:c"};  // three slots
  auto set = co_await cluster.mset(std::move(pairs));
  auto values = co_await cluster.mget(std::move(keys));
  if (!set || !values) {
    std::cerr << "MSET/MGET failed\n";
    co_return 1;
  }
  for (const auto& v : *values) std::cout << v.value_or("(none)") << " ";
  std::cout << "\n";
  co_return 0;
}

int main(int argc, char** argv) {
  auto connection = swarmkeeper::parse_redis_url(argc > 1 ? argv[1] : "redis+cluster://127.0.0.1:7000");
  if (!connection) return std::cerr << connection.error().message() << "\n", 64;
  boost::asio::io_context io;
  swarmkeeper::ClusterClient cluster(io.get_executor(), swarmkeeper::ClusterOptions::from(*connection));
  int rc = 1;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        rc = co_await three_slots(cluster);
        cluster.close();
      },
      boost::asio::detached);
  io.run();
  return rc;
}
