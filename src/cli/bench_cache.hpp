// SPDX-License-Identifier: Apache-2.0
// bench_cache.hpp — the two-tier cache's lines of `swarmkeeper bench blocks`.
#pragma once

#include <nlohmann/json.hpp>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/net/connection_options.hpp"

namespace swarmkeeper::cli {

/// Runs the cache workloads against the server at `where` (printing a line each when
/// print); returns the "cache" object of the JSON report.
Result<nlohmann::json> bench_cache(const ConnectionOptions& where, bool print);

}  // namespace swarmkeeper::cli
