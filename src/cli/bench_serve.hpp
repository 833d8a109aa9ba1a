// SPDX-License-Identifier: Apache-2.0
// bench_serve.hpp — `swarmkeeper bench serve`: the monitor's costs, measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swarmkeeper::cli {

struct BenchServeArgs {
  std::optional<std::string> url;  ///< a server to use (flushed and seeded!) instead of a private one
  std::uint64_t coordinators = 1000000;
  double census_budget = 5;
  bool json = false;
};

int run_bench_serve(const BenchServeArgs& args);

}  // namespace swarmkeeper::cli
