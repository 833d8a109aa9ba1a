// delete_batch.hpp — one bounded batch of keys to delete, each with the coordinator ids
// that may own it and the rule that decides: what one MGET + UNLINK pair (or one delete
// script call) covers.
//
// Ownership is settled at delete time from the server's heartbeats: a candidate whose
// heartbeat key exists is a coordinator (alive, or dead if its heartbeat is stale); one
// whose heartbeat is absent is not a coordinator. Then:
//   single      (heartbeat and exact families): the one candidate must be a dead coordinator;
//   one_owner   (id_prefix): exactly one candidate is a coordinator, and it is dead;
//               two or more: ambiguous, kept;
//   all_owners  (mentions): at least one candidate is a coordinator, and all are dead.
// No candidate is a coordinator: an orphan (kept, or checked for --orphans).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swarmkeeper::coord {

enum class OwnerRule : std::uint8_t { single, one_owner, all_owners };

/// What the server said of a candidate at delete time.
enum class Candidate : std::uint8_t { absent, dead, alive };

/// What becomes of a key once its candidates are known.
enum class Verdict : std::uint8_t { remove, keep_alive, ambiguous, orphan };

/// The rule applied to one key's candidates.
Verdict decide(OwnerRule rule, std::span<const std::uint32_t> candidates, const std::vector<Candidate>& status);

class DeleteBatch {
 public:
  /// Adds a key with its candidate owner ids (copied).
  void add(std::string_view key, OwnerRule rule, std::span<const std::string_view> candidates) {
    spans_.emplace_back(static_cast<std::uint32_t>(keys_.size()), static_cast<std::uint32_t>(key.size()));
    keys_.append(key);
    rules_.push_back(rule);
    for (std::string_view c : candidates) {
      auto it = position_.find(c);
      if (it == position_.end()) {
        ids_.emplace_back(c);
        it = position_.emplace(ids_.back(), static_cast<std::uint32_t>(ids_.size() - 1)).first;
      }
      key_cands_.push_back(it->second);
    }
    cand_begin_.push_back(static_cast<std::uint32_t>(key_cands_.size()));
  }
  std::size_t size() const noexcept { return spans_.size(); }
  bool empty() const noexcept { return spans_.empty(); }
  std::string_view key(std::size_t i) const noexcept {
    return std::string_view(keys_).substr(spans_[i].first, spans_[i].second);
  }
  OwnerRule rule(std::size_t i) const noexcept { return rules_[i]; }
  /// Positions (into ids()) of key i's candidates.
  std::span<const std::uint32_t> candidates(std::size_t i) const noexcept {
    return std::span<const std::uint32_t>(key_cands_).subspan(cand_begin_[i], cand_begin_[i + 1] - cand_begin_[i]);
  }
  /// Every distinct candidate id of the batch.
  const std::deque<std::string>& ids() const noexcept { return ids_; }

 private:
  std::string keys_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> spans_;
  std::vector<OwnerRule> rules_;
  std::vector<std::uint32_t> key_cands_, cand_begin_{0};
  std::deque<std::string> ids_;  // stable addresses: position_ views into them
  absl::flat_hash_map<std::string_view, std::uint32_t> position_;
};

inline Verdict decide(OwnerRule rule, std::span<const std::uint32_t> candidates, const std::vector<Candidate>& status) {
  std::size_t owners = 0, dead = 0;
  for (std::uint32_t c : candidates) {
    owners += status[c] != Candidate::absent;
    dead += status[c] == Candidate::dead;
  }
  if (owners == 0) return Verdict::orphan;
  if (rule == OwnerRule::one_owner && owners > 1) return Verdict::ambiguous;
  return dead == owners ? Verdict::remove : Verdict::keep_alive;
}

/// Keys with no owner (--orphans), with the heartbeat keys that must still be absent
/// when they are deleted.
struct OrphanBatch {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> heartbeats;
  std::size_t size() const noexcept { return keys.size(); }
};

}  // namespace swarmkeeper::coord
