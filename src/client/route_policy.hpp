// SPDX-License-Identifier: Apache-2.0
// route_policy.hpp — what the cluster client does after a routed command fails: follow a
// redirect, read the slot map again, wait, or give up. No I/O: it takes the attempt and
// the error (whose server code and redirect target were parsed where the reply was
// read) and returns the next action; the cluster client carries it out.
//
//   MOVED slot host:port   count it, read the map again, retry there
//   ASK slot host:port     count it, retry there once after ASKING (the map stands)
//   (either, from the third attempt: a slot moving back and forth; wait first)
//   TRYAGAIN, CLUSTERDOWN  wait (the one backoff), read the map again, retry
//   node unreachable       mark it, read the map again (a failover may have moved the
//                          slot), retry if the command may run twice, else give up
//   anything else, or past max_redirects: give up
#pragma once

#include <chrono>
#include <optional>

#include "swarmkeeper/error.hpp"

namespace swarmkeeper::client {

struct RouteAction {
  bool retry = false;             ///< false: give up with the error
  std::optional<Redirect> to;     ///< retry at this node (with ASKING when to->ask); else where the map says
  bool refresh = false;           ///< read the slot map again before retrying
  bool mark_unreachable = false;  ///< the node asked is gone: do not ask it before the next map
  std::chrono::milliseconds wait{0};
  bool moved = false, asked = false;  ///< count a MOVED / an ASK
};

/// attempt: 0 for the first try. idempotent: the command may run twice (a lost
/// connection may have run it).
RouteAction next_route_action(int attempt, int max_redirects, const Error& e, bool idempotent);

/// Whether a command's error reply in a pipeline means it did not run where it was sent
/// and should be routed again (a redirect, TRYAGAIN, CLUSTERDOWN).
bool routed_elsewhere(const Error& e);
/// Whether the connection, not the command, failed (refused, lost, timeout, DNS, I/O).
bool node_unreachable(const Error& e);

}  // namespace swarmkeeper::client
