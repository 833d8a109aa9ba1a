// SPDX-License-Identifier: Apache-2.0
// census.hpp — the swarm census: what one pass over the keyspace found, tallied with no
// I/O. The driver (collectors.cpp) feeds it SCAN pages and heartbeat values; the rules
// are the cleanup's own (KeySchema::family_of, heartbeat_id, judge_heartbeat).
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/coord/key_schema.hpp"

namespace swarmkeeper::monitor {

/// Upper bounds (seconds) of the heartbeat-age histogram's buckets; the last is +Inf.
inline constexpr std::array<double, 9> kAgeBounds = {10, 30, 60, 300, 600, 1800, 3600, 21600, 86400};

/// Queue keys longer than this are counted, not kept or sized: the census' memory stays
/// bounded by its caps whatever the key names are.
inline constexpr std::size_t kMaxQueueKeyBytes = 1024;

struct QueueBacklog {
  std::string key;
  std::string type;  ///< list, zset, stream, string
  double size = 0;   ///< LLEN / ZCARD / XLEN, or a string's integer value (a job counter)
};

struct CensusResult {
  /// Coordinators by liveness (the cleanup's rule: any fresh record keeps one alive; with
  /// none fresh, one unreadable makes it invalid, else it is stale), and absent ones: no
  /// liveness record, named by exact or id_prefix keys (cleanup_plan.hpp).
  std::uint64_t active = 0, stale = 0, invalid = 0, future = 0, absent = 0;
  std::array<std::uint64_t, kAgeBounds.size() + 1> age_buckets{};  ///< counts per bucket (not cumulative)
  double age_sum_s = 0;
  std::map<std::string, std::uint64_t> keys_per_family;  ///< schema families, "heartbeat", "other"
  std::uint64_t keys_scanned = 0;
  /// Family keys by ownership, by the cleanup's structural rule (coordinator_table.hpp):
  std::uint64_t orphan_keys = 0;     ///< no candidate coordinator has a liveness record, nor is absent
  std::uint64_t absent_keys = 0;     ///< keys of absent coordinators (the cleanup reaps them)
  std::uint64_t ambiguous_keys = 0;  ///< the structure allows several (the cleanup keeps them)
  std::uint64_t unchecked_keys = 0;  ///< past the memory cap for keys seen before their heartbeat
  std::vector<QueueBacklog> queues;
  std::uint64_t queue_keys_omitted = 0;   ///< queue keys past the cap (not sized)
  std::uint64_t queue_keys_too_long = 0;  ///< queue keys longer than kMaxQueueKeyBytes (not sized)
  std::uint64_t labels_truncated = 0;     ///< queue key names cut to kMaxLabelBytes in their label
  double duration_s = 0;
  double redis_cpu_s = 0;           ///< server CPU during the pass (INFO cpu)
  std::int64_t finished_at_ms = 0;  ///< wall clock
  bool complete = false;
};

class CensusTally {
 public:
  CensusTally(const KeySchema& schema, std::int64_t threshold_ms, std::vector<std::string> queue_patterns,
              std::size_t max_queue_keys = 1000);
  /// Counts one scanned key. Returns true when it is a heartbeat key whose value the
  /// caller must read and pass to on_heartbeat().
  bool on_key(std::string_view key);
  /// Counts one coordinator by one heartbeat value at server time now_ms (no other
  /// liveness record is considered). A value that vanished: nullptr.
  void on_heartbeat(const std::string* value, std::int64_t now_ms);
  /// One liveness record's value (the heartbeat or a liveness family's key, for which
  /// on_key returned true): records of one id are combined, and counted by finish().
  /// A value that vanished: nullptr; unreadable (wrong type): "".
  void on_liveness(std::string_view key, const std::string* value, std::int64_t now_ms);
  /// Keys that matched a queue pattern (to be sized), capped.
  const std::vector<std::string>& queue_keys() const noexcept { return queue_keys_; }
  /// Settles the family keys seen before their heartbeats (orphan / ambiguous counts).
  /// Call once, when the pass is complete.
  void finish();
  /// Pending ownership checks are held in at most this many 8-byte words (32 MiB).
  static constexpr std::size_t kMaxPendingWords = 4u << 20;
  CensusResult& result() noexcept { return r_; }

 private:
  const KeySchema& schema_;
  std::int64_t threshold_ms_;
  std::vector<std::string> patterns_;
  std::size_t max_queue_keys_;
  std::vector<std::string> queue_keys_;
  CensusResult r_;
  // Ownership: heartbeat ids (hashed, top bit clear) seen so far, and family keys still
  // to settle: one word (hash | top bit) for a key with one candidate under an exact
  // rule, else a header word (candidate count | id_prefix flag << 32) and its hashes.
  absl::flat_hash_set<std::uint64_t> heartbeat_ids_;
  // Per id with a liveness record read: its freshest timestamp and what its records said.
  struct Live {
    std::int64_t ts = 0;
    std::uint8_t fresh = 0, stale = 0, invalid = 0;  // none set: only "" was read
  };
  absl::flat_hash_map<std::uint64_t, Live> live_;
  std::int64_t last_now_ms_ = 0;
  void count_age(std::int64_t now_ms, std::int64_t ts);
  std::vector<std::uint64_t> pending_;
  std::vector<std::string_view> candidates_;
};

}  // namespace swarmkeeper::monitor
