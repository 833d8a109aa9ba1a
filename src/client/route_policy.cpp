// SPDX-License-Identifier: Apache-2.0
// route_policy.cpp — see route_policy.hpp.
#include "client/route_policy.hpp"

#include "client/backoff.hpp"

namespace swarmkeeper::client {

namespace {

// A slot redirected back and forth (a migration under way): 10 ms doubling to 640 ms.
constexpr BackoffOptions kFlapping{std::chrono::milliseconds(10), std::chrono::milliseconds(640)};
// TRYAGAIN / CLUSTERDOWN: 25 ms doubling to 800 ms.
constexpr BackoffOptions kClusterBusy{std::chrono::milliseconds(25), std::chrono::milliseconds(800)};

}  // namespace

bool node_unreachable(const Error& e) {
  return e.code() == Errc::connection_refused || e.code() == Errc::connection_lost ||
         e.code() == Errc::timeout || e.code() == Errc::dns_failure || e.code() == Errc::io_error;
}

bool routed_elsewhere(const Error& e) {
  return e.redirect() != nullptr || e.server_code() == ServerCode::try_again ||
         e.server_code() == ServerCode::cluster_down;
}

RouteAction next_route_action(int attempt, int max_redirects, const Error& e, bool idempotent) {
  RouteAction a;
  if (attempt >= max_redirects) return a;
  if (const Redirect* to = e.redirect()) {
    a.retry = true;
    a.to = *to;
    a.moved = !to->ask;
    a.asked = to->ask;
    a.refresh = !to->ask;  // MOVED: the map is behind
    if (attempt >= 2) a.wait = backoff_ceiling(kFlapping, attempt);
    return a;
  }
  if (node_unreachable(e)) {
    a.mark_unreachable = true;
    a.refresh = true;
    a.retry = idempotent;  // it may have run: never resent
    return a;
  }
  if (e.server_code() == ServerCode::try_again || e.server_code() == ServerCode::cluster_down) {
    a.retry = true;
    a.refresh = true;
    a.wait = backoff_ceiling(kClusterBusy, attempt);
    return a;
  }
  return a;
}

}  // namespace swarmkeeper::client
