// SPDX-License-Identifier: Apache-2.0
// inspect.hpp — `swarmkeeper inspect`: what is in an operator's Redis (or cluster), and
// the key schema that reads it (coord/keyspace_survey.hpp has the rules).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace swarmkeeper::cli {

struct InspectArgs {
  std::optional<std::string> url;
  std::string threshold = "600", schema_file;
  double max_busy = 5;
  std::size_t max_keys = 1000000;
  bool json = false, suggest_schema = false, no_dry_run = false;
};

void add_inspect_options(CLI::App* inspect, InspectArgs& a);
/// Returns the exit code: 0, 1 cannot connect, 2 a command failed mid-way, 64 usage.
int run_inspect(const InspectArgs& a);

}  // namespace swarmkeeper::cli
