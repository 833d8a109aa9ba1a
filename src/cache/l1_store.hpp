// SPDX-License-Identifier: Apache-2.0
// l1_store.hpp — the cache's in-process tier: a segmented LRU bounded in entries and
// bytes, with a time to live per entry. No I/O, no clock of its own, no lock: the
// caller passes `now` and serialises calls (two_tier_cache.cpp holds a mutex).
//
// Segmented LRU (SLRU). Entries live in one of two LRU lists:
//   probation  where a new entry starts;
//   protected  where an entry moves on its second hit, up to protected_share of the
//              limits; the least recent protected entry is demoted back to probation.
// Eviction takes the least recent probation entry first, so a burst of keys read once
// (a scan, a cold start) passes through probation without pushing out the keys that
// are read again and again. protected_share = 0 makes it a plain LRU (used by the
// benchmark as the peer). Every operation is O(1).
//
// Bytes counted per entry: key + value + kEntryOverhead. A value larger than
// max_bytes / 8 is not admitted (one huge value would otherwise evict everything).
#pragma once

#include <absl/container/node_hash_map.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace swarmkeeper::cache {

struct L1Limits {
  std::size_t max_entries = 10000;
  std::size_t max_bytes = 64u << 20;
  /// Share of the limits the protected segment may hold, in [0, 1). 0: plain LRU.
  double protected_share = 0.8;
};

struct L1Counters {
  std::uint64_t evictions = 0;    ///< entries pushed out by the limits
  std::uint64_t expirations = 0;  ///< entries found past their time to live
  std::uint64_t rejected = 0;     ///< values too large to admit
};

class L1Store {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kEntryOverhead = 96;

  explicit L1Store(L1Limits limits);
  L1Store(const L1Store&) = delete;
  L1Store& operator=(const L1Store&) = delete;

  /// The value of `key` if present and not expired at `now` (an expired entry is
  /// removed). A hit counts towards promotion. The pointer is valid until the next
  /// call that changes the store.
  const std::string* find(std::string_view key, Clock::time_point now);
  /// Inserts or replaces `key`, expiring at `expires`. Evicts as needed to stay within
  /// the limits. Returns false (and stores nothing, removing any old entry) when the
  /// value is too large to admit.
  bool put(std::string_view key, std::string value, Clock::time_point expires);
  /// Removes `key`; returns whether it was present.
  bool erase(std::string_view key);
  /// Removes everything; returns how many entries there were.
  std::size_t clear();

  std::size_t size() const noexcept { return map_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  const L1Counters& counters() const noexcept { return counters_; }
  const L1Limits& limits() const noexcept { return limits_; }

 private:
  struct Entry;
  struct List {
    Entry* head = nullptr;  // most recent
    Entry* tail = nullptr;  // least recent
    std::size_t count = 0;
    std::size_t bytes = 0;
  };
  struct Entry {
    std::string value;
    std::string_view key;  // points into the map node's key
    Clock::time_point expires;
    std::size_t bytes = 0;
    bool in_protected = false;
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };

  void link_front(List& l, Entry* e);
  void unlink(List& l, Entry* e);
  void remove(Entry* e);
  void fit_protected();
  void evict_to_limits();

  L1Limits limits_;
  std::size_t protected_entries_max_;
  std::size_t protected_bytes_max_;
  absl::node_hash_map<std::string, Entry> map_;  // nodes are stable: lists point into them
  List probation_;
  List protected_;
  std::size_t bytes_ = 0;
  L1Counters counters_;
};

}  // namespace swarmkeeper::cache
