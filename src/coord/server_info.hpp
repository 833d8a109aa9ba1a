// SPDX-License-Identifier: Apache-2.0
// server_info.hpp — the server's CPU seconds from Redis' INFO text (net/info_text.hpp),
// named where the cleanup and the benches read them.
#pragma once

#include "net/info_text.hpp"

namespace swarmkeeper::coord {

using net::info_cpu_seconds;

}  // namespace swarmkeeper::coord
