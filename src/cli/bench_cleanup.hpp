// SPDX-License-Identifier: Apache-2.0
// bench_cleanup.hpp — `swarmkeeper bench cleanup`: the reference performance validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swarmkeeper::cli {

struct BenchCleanupArgs {
  std::optional<std::string> url;  ///< a server to use (flushed!) instead of a private one
  std::vector<std::uint64_t> sizes{100, 1000, 3000, 10000, 100000};
  bool large = false;  ///< add 1,000,000
  bool json = false;
  std::string recheck = "auto";
  std::string peer_script;  ///< the reference cleanup script (Lua, chunked); none: the peer column is skipped
  double peer_cap_s = 30;   ///< skip the peer where it would run longer (projected)
  bool cluster = false;     ///< one private server beside a private 3-master cluster
};

/// For each size: seed (99 % stale), run `swarmkeeper cleanup` as a child process while
/// a probe client PINGs every 1 ms, verify key by key; then the same with the reference
/// cleanup script. Prints a table (or JSON). Returns the exit code.
int run_bench_cleanup(const BenchCleanupArgs& args, const std::string& self_exe);

}  // namespace swarmkeeper::cli
