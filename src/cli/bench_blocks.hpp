// bench_blocks.hpp — `swarmkeeper bench blocks`: the building blocks beside their peers.
#pragma once

namespace swarmkeeper::cli {

struct BenchBlocksArgs {
  bool json = false;
};

int run_bench_blocks(const BenchBlocksArgs& args);

}  // namespace swarmkeeper::cli
