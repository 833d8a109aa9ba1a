// SPDX-License-Identifier: Apache-2.0
// process.cpp — the process figures of process.hpp.
#include "swarmkeeper/metrics/process.hpp"

#include <unistd.h>

#include <fstream>

namespace swarmkeeper::metrics {

double resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  double pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

}  // namespace swarmkeeper::metrics
