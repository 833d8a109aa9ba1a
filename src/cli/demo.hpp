// SPDX-License-Identifier: Apache-2.0
// demo.hpp — `swarmkeeper demo`: the main job end to end on the reference scenario.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swarmkeeper::cli {

struct DemoArgs {
  std::optional<std::string> url;  ///< a server to use (flushed!) instead of a private one
  std::uint64_t coordinators = 10000;
  std::uint64_t stale = 9900;
  std::string recheck = "auto";
  bool cluster = false;    ///< on a private 3-master Redis Cluster (unless url)
  bool hash_tags = false;  ///< seed ids in braces: each coordinator in one slot
};

/// Starts a private redis-server (unless url), seeds, cleans up, verifies 100 % of stale
/// keys gone and 100 % of active keys intact, prints the report and a verdict. Returns
/// the exit code.
int run_demo(const DemoArgs& args);

}  // namespace swarmkeeper::cli
