// SPDX-License-Identifier: Apache-2.0
// flight_table.hpp — the cache's loads in flight and the rule that decides whether a
// load's result may enter L1. No I/O, no lock (the caller serialises calls).
//
// Single flight, without handing anyone an old read: concurrent misses on one key share
// one load, but a caller only ever joins a load that has not been sent yet. A load
// already sent may have read a value that a write acknowledged before the caller's
// get() began has since replaced, and nothing proves otherwise (while tracking is down
// no invalidation can; while it is up one may still be on its way). So per key:
//   - no load: the caller leads one and sends it at once (Role::lead);
//   - a load sent and in flight: the caller leads the key's next load, sent when the one
//     in flight ends (Role::lead_after), and later callers join that next load
//     (Role::join) until it is sent;
// so at most two loads per key exist (one in flight, one waiting), and every caller's
// value was read after its call began.
// A load's result enters L1 only if its flight is clean (no invalidation of the key
// arrived after it was sent), its epoch is current (no flush, no loss or regain of
// tracking since it was sent) and tracking is up (installable()). A refused install is
// a "stale-read guard trip": the value still goes to the callers of that load (it was
// read after they asked), it just does not stay in L1.
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
    std::uint64_t epoch = 0;  ///< set when sent
    bool sent = false;
    bool dirty = false;  ///< an invalidation of the key arrived after it was sent
    Payload payload{};
  };
  enum class Role {
    lead,        ///< send the load now
    lead_after,  ///< send it once `after` has ended (then call sent())
    join,        ///< wait for the flight's result
  };
  struct Joined {
    std::shared_ptr<Flight> flight;
    Role role = Role::lead;
    std::shared_ptr<Flight> after;  ///< lead_after: the load in flight before this one
  };

  /// A caller's miss on `key` at `epoch`: which flight serves it, and its role.
  Joined join(std::string_view key, std::uint64_t epoch) {
    auto it = slots_.find(absl::string_view(key.data(), key.size()));
    if (it == slots_.end()) {
      auto f = fresh(key);
      f->sent = true;
      f->epoch = epoch;
      slots_.emplace(f->key, Slot{f, nullptr});
      return {std::move(f), Role::lead, nullptr};
    }
    Slot& s = it->second;
    if (!s.current->sent) return {s.current, Role::join, nullptr};
    if (s.next) return {s.next, Role::join, nullptr};
    s.next = fresh(key);
    return {s.next, Role::lead_after, s.current};
  }

  /// The leader of `f` sends its load now (the flight before it has ended): no one joins
  /// it from here on; it reads the state of `epoch`.
  void sent(const std::shared_ptr<Flight>& f, std::uint64_t epoch) {
    f->sent = true;
    f->epoch = epoch;
  }

  /// Another writer changed `key`: its load in flight (if any) may hold the old value.
  /// A load not sent yet will read after the write: untouched.
  void invalidate(std::string_view key) {
    auto it = slots_.find(absl::string_view(key.data(), key.size()));
    if (it != slots_.end() && it->second.current->sent) it->second.current->dirty = true;
  }

  /// Everything may have changed (tracking lost or regained, flush, clear).
  void invalidate_all() {
    for (auto& [key, s] : slots_)
      if (s.current->sent) s.current->dirty = true;
  }

  /// The load of `f` ended: the key's next load (if any) becomes the one in flight.
  void finish(const std::shared_ptr<Flight>& f) {
    auto it = slots_.find(f->key);
    if (it == slots_.end() || it->second.current != f) return;
    if (it->second.next)
      it->second.current = std::move(it->second.next);
    else
      slots_.erase(it);
  }

  /// The leader of `f` gave up (its caller was cancelled, or it failed before the end):
  /// `f` leaves the table wherever it is; the caller wakes its waiters with an error.
  void abandon(const std::shared_ptr<Flight>& f) {
    auto it = slots_.find(f->key);
    if (it == slots_.end()) return;
    Slot& s = it->second;
    if (s.next == f) {
      s.next.reset();
    } else if (s.current == f) {
      if (s.next)
        s.current = std::move(s.next);
      else
        slots_.erase(it);
    }
  }

  /// Whether the result of `f` may enter L1 now.
  static bool installable(const Flight& f, std::uint64_t current_epoch, bool tracking_up) {
    return tracking_up && f.sent && !f.dirty && f.epoch == current_epoch;
  }

  /// Keys with a load in flight or waiting.
  std::size_t size() const noexcept { return slots_.size(); }

 private:
  struct Slot {
    std::shared_ptr<Flight> current;  ///< in flight (sent), or next to go (not yet sent)
    std::shared_ptr<Flight> next;     ///< waits for current; only while current is sent
  };
  static std::shared_ptr<Flight> fresh(std::string_view key) {
    auto f = std::make_shared<Flight>();
    f->key = std::string(key);
    return f;
  }
  absl::flat_hash_map<std::string, Slot> slots_;
};

}  // namespace swarmkeeper::cache
