// flight_table.hpp — the cache's loads in flight and the rule that decides whether a
// load's result may enter L1. No I/O, no lock (the caller serialises calls).
//
// Single flight: concurrent misses on one key join one load. The race it guards
// against: a load reads the old value from Redis, another client writes the key, the
// invalidation arrives, and only then the load's reply comes back; installing it would
// serve the old value until its TTL. So:
//   - an invalidation of a key marks its flight dirty and detaches it, so callers that
//     come after the invalidation start a load of their own instead of joining one that
//     may have read the old value;
//   - losing or regaining tracking, a flush and clear() bump the epoch and detach every
//     flight;
//   - a load's result is installed only if its flight is clean, its epoch is current
//     and tracking was up for the whole load (installable()). A refused install is a
//     "stale-read guard trip": the value is still returned to the callers that were
//     waiting (it was current when they asked), it just does not stay in L1.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace swarmkeeper::cache {

template <class Payload>
class FlightTable {
 public:
  struct Flight {
    std::string key;
    std::uint64_t epoch = 0;
    bool dirty = false;
    Payload payload{};
  };

  /// The current flight of `key`, or a new one started at `epoch` (second: true when
  /// the caller started it and must run the load).
  std::pair<std::shared_ptr<Flight>, bool> join(std::string_view key, std::uint64_t epoch) {
    auto it = flights_.find(absl::string_view(key.data(), key.size()));
    if (it != flights_.end()) return {it->second, false};
    auto f = std::make_shared<Flight>();
    f->key = std::string(key);
    f->epoch = epoch;
    flights_.emplace(f->key, f);
    return {std::move(f), true};
  }

  /// Another writer changed `key`: its flight (if any) is dirty and no longer joinable.
  void invalidate(std::string_view key) {
    auto it = flights_.find(absl::string_view(key.data(), key.size()));
    if (it == flights_.end()) return;
    it->second->dirty = true;
    flights_.erase(it);
  }

  /// Everything may have changed (tracking lost or regained, flush, clear).
  void invalidate_all() {
    for (auto& [key, f] : flights_) f->dirty = true;
    flights_.clear();
  }

  /// The load of `f` ended: it is no longer joinable.
  void finish(const std::shared_ptr<Flight>& f) {
    auto it = flights_.find(f->key);
    if (it != flights_.end() && it->second == f) flights_.erase(it);
  }

  /// Whether the result of `f` may enter L1 now.
  static bool installable(const Flight& f, std::uint64_t current_epoch, bool tracking_up) {
    return tracking_up && !f.dirty && f.epoch == current_epoch;
  }

  std::size_t size() const noexcept { return flights_.size(); }

 private:
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace swarmkeeper::cache
