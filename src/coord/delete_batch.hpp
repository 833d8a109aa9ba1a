// delete_batch.hpp — one bounded batch of keys to delete and the coordinators they
// belong to: what one UNLINK (or one delete script call) covers.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swarmkeeper::coord {

struct DeleteBatch {
  /// Coordinators (table indices) whose heartbeats the batch depends on, in order.
  std::vector<std::uint32_t> owners;
  /// For each key, the positions (into owners) of its owners: key_owners[begin[i]..begin[i+1]).
  std::vector<std::uint32_t> key_owner_begin{0};
  std::vector<std::uint32_t> key_owners;

  void add(std::string_view key, std::span<const std::uint32_t> coordinators) {
    key_spans_.emplace_back(static_cast<std::uint32_t>(keys_.size()), static_cast<std::uint32_t>(key.size()));
    keys_.append(key);
    for (std::uint32_t c : coordinators) {
      auto [it, added] = position_.try_emplace(c, static_cast<std::uint32_t>(owners.size()));
      if (added) owners.push_back(c);
      key_owners.push_back(it->second);
    }
    key_owner_begin.push_back(static_cast<std::uint32_t>(key_owners.size()));
  }
  std::size_t size() const noexcept { return key_spans_.size(); }
  bool empty() const noexcept { return key_spans_.empty(); }
  std::string_view key(std::size_t i) const noexcept {
    return std::string_view(keys_).substr(key_spans_[i].first, key_spans_[i].second);
  }
  std::span<const std::uint32_t> owners_of(std::size_t i) const noexcept {
    return std::span<const std::uint32_t>(key_owners).subspan(key_owner_begin[i], key_owner_begin[i + 1] - key_owner_begin[i]);
  }

 private:
  std::string keys_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> key_spans_;
  absl::flat_hash_map<std::uint32_t, std::uint32_t> position_;
};

/// Keys with no known owner (--orphans), with the heartbeat keys that must still be
/// absent when they are deleted.
struct OrphanBatch {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> heartbeats;
  std::size_t size() const noexcept { return keys.size(); }
};

}  // namespace swarmkeeper::coord
