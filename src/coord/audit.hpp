// SPDX-License-Identifier: Apache-2.0
// audit.hpp — the cleanup's audit trail: the capped stream swarmkeeper:reaped. Each
// entry holds up to 64 reaped coordinators as repeated (id, lastHeartbeat, keysDeleted)
// fields; a run writes its last 10,000 reaped, the stream keeps ~2,000 entries.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>

#include "coord/coordinator_table.hpp"
#include "swarmkeeper/client/router.hpp"

namespace swarmkeeper::coord {

inline constexpr const char* kAuditKey = "swarmkeeper:reaped";

/// Appends the table's reaped coordinators. Fails with the connection's error; a server
/// that refuses the write (OOM, ACL) is not a failure: *note says why nothing was written.
boost::asio::awaitable<Result<void>> write_audit(Router& conn, const CoordinatorTable& table,
                                                 std::string* note);

}  // namespace swarmkeeper::coord
