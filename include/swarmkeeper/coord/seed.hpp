// SPDX-License-Identifier: Apache-2.0
// seed.hpp — writes the reference test scenario (the names and values the reference
// generator writes): N coordinators, S of them stale, each with a heartbeat (JSON with a ms
// timestamp), `acks` ACK keys, a signal, an idempotency record and an activity record.
//
//   stale:  {prefix}-stale-{i}   for i in 1..S,   heartbeat age stale_age
//   active: {prefix}-active-{j}  for j in 1..N-S, heartbeat age active_age
//
// Timestamps come from the server's clock (TIME). Keys are written with MSET in bounded
// batches, several in flight.
//
// layout orchestrator: what the orchestrator behind the reference scenario really writes, each key
// with its TTL (SET .. EX): an alive coordinator has a heartbeat {"lastHeartbeat": ms}
// (300 s) and an activity record {"lastActivity": ms} (600 s); every coordinator has a
// signal and ACKs (JSON with a "timestamp"), an idempotency record
// blocking:idempotency:<id>:hub:wake:3:<ms> = "1", and swarm:swarm-1:blocking:<id>. A
// "stale" coordinator died stale_age ago: its heartbeat and activity have expired, its
// other keys carry timestamps that old. One swarm:state:swarm-1 key belongs to nobody.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/net/connection_options.hpp"

namespace swarmkeeper {

enum class SeedLayout { seeds, orchestrator };

struct SeedOptions {
  SeedLayout layout = SeedLayout::seeds;
  std::uint64_t coordinators = 10000;
  std::uint64_t stale = 9900;
  std::uint32_t acks = 2;
  std::string prefix = "test-coordinator";
  std::chrono::seconds stale_age{660};
  std::chrono::seconds active_age{60};
  /// Ids in braces ("{test-coordinator-stale-1}"): on a cluster, each coordinator's keys
  /// then hash to one slot (its id is their hash tag). Default off.
  bool hash_tags = false;
};

struct SeedReport {
  std::uint64_t keys_written = 0;
  std::uint64_t elapsed_ms = 0;
  std::int64_t now_ms = 0;  ///< the server time the ages are relative to
};

/// Keys per coordinator in the scenario: heartbeat, signal, idempotency, activity + acks
/// (orchestrator layout: + the swarm key; a dead coordinator has no heartbeat or activity).
inline std::uint64_t keys_per_coordinator(const SeedOptions& o, bool stale = false) {
  if (o.layout == SeedLayout::orchestrator) return (stale ? 3 : 5) + o.acks;
  return 4 + o.acks;
}
/// The coordinator id of scenario index i (1-based; the first `stale` are stale).
std::string seed_coordinator_id(const SeedOptions& o, std::uint64_t i);

/// Writes the scenario. On a Redis Cluster (a redis+cluster:// URL, or a node that says
/// cluster_enabled:1) it goes across every master.
Result<SeedReport> seed_scenario(const ConnectionOptions& connection, const SeedOptions& options);

/// Keys in the target database (summed over every master of a cluster): DBSIZE.
Result<std::int64_t> count_keys(const ConnectionOptions& connection);

/// What is left of a seeded scenario after a cleanup.
struct ScenarioCheck {
  std::uint64_t stale_keys_total = 0, stale_keys_left = 0;
  std::uint64_t active_keys_total = 0, active_keys_present = 0;
  bool perfect() const { return stale_keys_left == 0 && active_keys_present == active_keys_total; }
};

/// Counts, key by key (EXISTS), which of the scenario's keys still exist. seed_now_ms:
/// SeedReport::now_ms of the seed (the orchestrator layout has timestamps in key names).
Result<ScenarioCheck> verify_scenario(const ConnectionOptions& connection, const SeedOptions& options,
                                      std::int64_t seed_now_ms = 0);

}  // namespace swarmkeeper
