// SPDX-License-Identifier: Apache-2.0
// process.hpp — figures about this process, for self-monitoring and benchmarks.
#pragma once

namespace swarmkeeper::metrics {

/// Resident memory of this process in bytes (/proc/self/statm); 0 if unreadable.
double resident_memory_bytes();

}  // namespace swarmkeeper::metrics
