// SPDX-License-Identifier: Apache-2.0
// bench_blocks.hpp — `swarmkeeper bench blocks`: the building blocks beside their peers.
#pragma once

#include <optional>
#include <string>

namespace swarmkeeper::cli {

struct BenchBlocksArgs {
  bool json = false;
  /// Server for the cache lines; a private redis-server when unset.
  std::optional<std::string> url;
};

int run_bench_blocks(const BenchBlocksArgs& args);

}  // namespace swarmkeeper::cli
