// SPDX-License-Identifier: Apache-2.0
// cluster_slots.hpp — Redis Cluster's key-to-slot rule and the slot map, with no I/O.
//
// key_slot() is the server's own: CRC16 (XMODEM) of the key, or of its hash tag (the
// bytes between the first '{' and the first '}' after it, if there is at least one),
// modulo 16,384. SlotMap is built from a CLUSTER SLOTS reply and answers which node
// serves a slot; it is what the cluster client (future work) routes with, and what
// tests and the cleanup use to group keys by slot.
//
//   auto map = SlotMap::from_cluster_slots(reply.root());   // Result<SlotMap>
//   const ClusterNode* n = map->node_for(key_slot("blocking:heartbeat:{c1}"));
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/resp/reply.hpp"

namespace swarmkeeper {

inline constexpr std::uint16_t kClusterSlots = 16384;

/// The slot of a key (0..16383), exactly as CLUSTER KEYSLOT computes it.
std::uint16_t key_slot(std::string_view key) noexcept;
/// The part of a key that is hashed: its hash tag if it has one, else the whole key.
std::string_view hash_tag(std::string_view key) noexcept;

struct ClusterNode {
  std::string host;
  std::uint16_t port = 0;
  std::string id;  ///< the node id (empty on servers that do not send it)
};

class SlotMap {
 public:
  /// Parses CLUSTER SLOTS: [[start, end, [host, port, id, ...], replicas...], ...]. A
  /// NULL or empty host ("unknown endpoint") means `asked_host`, the node that answered.
  /// Fails with unexpected_reply naming what was wrong (also past 1,000 masters). Slots
  /// no range covers have no node.
  static Result<SlotMap> from_cluster_slots(resp::ReplyRef reply, std::string_view asked_host = "127.0.0.1");

  /// The master serving a slot, or nullptr when no range covers it.
  const ClusterNode* node_for(std::uint16_t slot) const noexcept;
  /// Every master, each once, in the order CLUSTER SLOTS first named them.
  const std::vector<ClusterNode>& masters() const noexcept { return masters_; }
  /// Slots covered by some master (16,384 on a healthy cluster).
  std::size_t covered() const noexcept;

 private:
  std::vector<ClusterNode> masters_;
  std::array<std::int16_t, kClusterSlots> owner_{};  // index into masters_ (< 1,000), -1: uncovered
};

}  // namespace swarmkeeper
