// SPDX-License-Identifier: Apache-2.0
// bench_client.hpp — `swarmkeeper bench client`: the client validation suite, and a plain
// GET/SET throughput run to set beside a Node.js ioredis client doing the same.
#pragma once

#include <optional>
#include <string>

namespace swarmkeeper::cli {

struct BenchClientArgs {
  std::optional<std::string> url;  ///< a server to use (its data is overwritten) instead of a private one
  int concurrency = 20;
  double seconds = 30;
  std::string mix;  ///< "get-set": only the plain throughput run
  bool json = false;
  int connections = 0;    ///< max pool connections (0: the default, 20)
  bool cluster = false;   ///< get-set on a Redis Cluster (a private 3-master one unless --url)
  int threads = 0;        ///< get-set: the client's I/O threads (0: one per core)
  int busy_poll_us = 50;  ///< get-set: ThreadedClient's busy_poll
};

int run_bench_client(const BenchClientArgs& args);

}  // namespace swarmkeeper::cli
