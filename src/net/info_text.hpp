// SPDX-License-Identifier: Apache-2.0
// info_text.hpp — the one reader of Redis' INFO text ("field:value" lines, "# Section"
// headers) and of its "k=v,k=v" values. The monitor's figures, the cleanup's and
// the benches' server CPU and the cluster check all read INFO through it.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace swarmkeeper::net {

struct InfoText {
  std::map<std::string, std::string, std::less<>>
      fields;  ///< "used_memory" → "1234", "cmdstat_get" → "calls=..."
  /// A field as a number; 0 when absent or not a number.
  double number(std::string_view field) const;
  /// A field's text; "" when absent.
  std::string_view text(std::string_view field) const;
  bool empty() const noexcept { return fields.empty(); }
};

InfoText parse_info(std::string_view text);
/// "calls=10,usec=20" → {calls: 10, usec: 20}
std::map<std::string, double> parse_info_list(std::string_view value);

/// used_cpu_sys + used_cpu_user from an INFO (or INFO cpu) reply, in seconds; 0 if absent.
double info_cpu_seconds(std::string_view info);
/// Whether an INFO (or INFO cluster) reply says the server runs in cluster mode.
bool info_says_cluster(std::string_view info);

class Connection;
/// Whether the server on `conn` is a cluster node: INFO says so; where the ACL refuses
/// INFO, CLUSTER INFO answering does (a server without cluster support refuses it).
boost::asio::awaitable<bool> is_cluster_node(Connection& conn);

}  // namespace swarmkeeper::net
