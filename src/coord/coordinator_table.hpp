// SPDX-License-Identifier: Apache-2.0
// coordinator_table.hpp — every coordinator seen in a cleanup run, and who owns a key.
//
// The table holds one entry per heartbeat key found (id, timestamp, state). Ids live
// in an append-only arena of 1 MiB blocks; the index is a hash set of 4-byte entry
// numbers that hashes through the entries, so memory is ~70 bytes per coordinator plus
// its id, whatever the number of keys.
//
// attribute() applies the schema's structural rules (key_schema.hpp) against the table:
// it never matches an id as a substring or glob.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "swarmkeeper/coord/key_schema.hpp"

namespace swarmkeeper::coord {

enum class CoordState : std::uint8_t {
  active,   ///< heartbeat within the threshold, or in the future
  stale,    ///< heartbeat older than the threshold
  invalid,  ///< heartbeat unreadable: left alone
  absent,   ///< no liveness record at all, named by keys of its families (cleanup_plan.hpp)
};

struct Coordinator {
  std::string_view id;
  /// The youngest timestamp of its liveness records (absent: of its keys; 0: none).
  std::int64_t timestamp_ms = 0;
  std::array<std::uint8_t, 20> digest{};  ///< SHA-1 of the heartbeat bytes read (stale ones)
  /// Stale: the index of the other liveness records' digests (CleanupPlan), and which
  /// liveness records existed (bit r: record r, the heartbeat is bit 0).
  std::uint32_t more_digests = UINT32_MAX;
  std::uint8_t present = 0;
  std::uint32_t parked = UINT32_MAX;  ///< head of its parked keys (cleanup_plan.hpp)
  std::uint16_t parked_count = 0;
  CoordState state = CoordState::active;
  bool renewed = false;            ///< found stale, changed by delete time: left alone
  bool reaped = false;             ///< its heartbeat was deleted
  std::uint16_t keys_deleted = 0;  ///< keys deleted on its behalf (saturates at 65535)
};

class CoordinatorTable {
 public:
  /// Adds a coordinator (or returns the existing index for the id).
  std::uint32_t add(std::string_view id, std::int64_t timestamp_ms, CoordState state);
  /// Index of a known id, or -1.
  std::int64_t find(std::string_view id) const {
    auto it = index_.find(id);
    return it == index_.end() ? -1 : static_cast<std::int64_t>(*it);
  }
  CoordinatorTable() = default;
  CoordinatorTable(const CoordinatorTable&) = delete;  // the index points at coords_
  CoordinatorTable& operator=(const CoordinatorTable&) = delete;
  Coordinator& operator[](std::uint32_t i) { return coords_[i]; }
  const Coordinator& operator[](std::uint32_t i) const { return coords_[i]; }
  std::size_t size() const noexcept { return coords_.size(); }

 private:
  std::string_view intern(std::string_view s);

  // The entries in fixed chunks of 64K: growing never copies them (a vector's doubling
  // would hold old and new copies at once: +50 % peak memory at 10^6 coordinators).
  class Entries {
   public:
    Coordinator& operator[](std::uint32_t i) { return chunks_[i >> kShift][i & kMask]; }
    const Coordinator& operator[](std::uint32_t i) const { return chunks_[i >> kShift][i & kMask]; }
    std::size_t size() const noexcept { return size_; }
    void push_back(const Coordinator& c) {
      if ((size_ & kMask) == 0) chunks_.push_back(std::make_unique<Coordinator[]>(kMask + 1));
      chunks_.back()[size_ & kMask] = c;
      ++size_;
    }

   private:
    static constexpr std::uint32_t kShift = 16, kMask = (1u << kShift) - 1;
    std::vector<std::unique_ptr<Coordinator[]>> chunks_;
    std::size_t size_ = 0;
  };

  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t block_used_ = 0, block_size_ = 0;
  // Hash and equality of entry numbers by their ids, transparent for string_view lookups.
  struct IdHash {
    using is_transparent = void;
    const Entries* coords;
    std::size_t operator()(std::uint32_t i) const { return absl::Hash<std::string_view>{}((*coords)[i].id); }
    std::size_t operator()(std::string_view s) const { return absl::Hash<std::string_view>{}(s); }
  };
  struct IdEq {
    using is_transparent = void;
    const Entries* coords;
    bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
    bool operator()(std::uint32_t a, std::string_view b) const { return (*coords)[a].id == b; }
    bool operator()(std::string_view a, std::uint32_t b) const { return a == (*coords)[b].id; }
  };

  Entries coords_;
  absl::flat_hash_set<std::uint32_t, IdHash, IdEq> index_{0, IdHash{&coords_}, IdEq{&coords_}};
};

/// Candidates an id_prefix key may have (separators in it), and tokens a mentions key
/// may have; past that the key is kept as ambiguous.
inline constexpr std::size_t kMaxCandidates = 16;

/// The ids that could own a key of `family` by its structure alone (views into key):
/// exact: the suffix; id_prefix: the part before each separator; mentions: every run of
/// separator-delimited tokens. Returns false if the key has too many to list (more than
/// 16 separators): such a key is kept as ambiguous, so one hostile key can neither make
/// a server call large nor stop a run.
bool structural_candidates(std::string_view key, const KeyFamily& family, std::vector<std::string_view>& out);

/// Who a family key belongs to, as far as the table knows: THE ownership rule (the plan
/// and the tests use this one function).
struct Attribution {
  enum Kind : std::uint8_t {
    remove,      ///< every known candidate is a stale or absent coordinator (owners), the rest unknown
    keep_alive,  ///< a candidate is a live or unreadable coordinator (or one found stale that renewed)
    ambiguous,   ///< the structure allows several coordinators (id_prefix), or too many candidates
    orphan,      ///< no candidate is a known coordinator
  };
  Kind kind = orphan;
  std::vector<std::uint32_t> owners;     ///< the stale coordinators it belongs to, once each
  std::vector<std::string_view> absent;  ///< candidates the table does not know (views into the key)
};

/// Attributes a key of `family` against the table: its structural candidates (in
/// `candidates`, reused) each known (stale, live, unreadable) or not. A candidate the
/// table does not know is listed in `absent`: whoever deletes the key must confirm, in
/// the same atomic step, that it still has no heartbeat.
void attribute(std::string_view key, const KeyFamily& family, const CoordinatorTable& table,
               std::vector<std::string_view>& candidates, Attribution& out);

}  // namespace swarmkeeper::coord
