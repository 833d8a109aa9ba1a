// SPDX-License-Identifier: Apache-2.0
// bounded_queue.hpp — a fixed-capacity, multi-producer event queue with a drop policy
// (no Redis knowledge). It never grows past its capacity, whatever the producers do.
//
// Policies, when a push finds the queue full:
//   drop_oldest  the oldest queued event is discarded to make room (the seed's default:
//                the newest state matters most);
//   drop_newest  the pushed event is discarded;
//   block        the producer waits for room, up to its timeout; then the pushed event is
//                discarded (counted as timed_out).
// Every discarded event is counted by reason, and the high-water mark of the queue's
// length is kept; both are readable at any time from any thread. Waiting producers and
// consumers sleep on condition variables: no busy waiting.
//
// Close: close() makes every later push fail with PushResult::closed (counted) and wakes
// every waiting producer (their events are not queued: closed) and consumer. Events
// already queued stay: consumers drain them with pop()/pop_for(); once the queue is
// closed AND empty, pop returns nullopt at once. close(Drain::discard) drops what is
// queued as well (counted as discarded_on_close).
//
// Threading: every member is safe to call from any thread.
//
//   BoundedQueue<Event> q(10000, OverflowPolicy::drop_oldest);
//   q.push(event);                          // producers
//   while (auto e = q.pop()) handle(*e);    // a consumer, until closed and drained
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace swarmkeeper::queue {

enum class OverflowPolicy { drop_oldest, drop_newest, block };

enum class PushResult {
  queued,          ///< the event is in the queue
  queued_evicted,  ///< queued; the oldest event was discarded for it (drop_oldest)
  dropped,         ///< the queue was full; this event was discarded (drop_newest)
  timed_out,       ///< the queue stayed full for the whole timeout (block); discarded
  closed,          ///< the queue is closed; discarded
};

/// Counters, all monotonic except `length`.
struct QueueStats {
  std::uint64_t pushed = 0;              ///< events accepted into the queue
  std::uint64_t popped = 0;              ///< events handed to consumers
  std::uint64_t dropped_oldest = 0;      ///< evicted by drop_oldest
  std::uint64_t dropped_newest = 0;      ///< refused by drop_newest
  std::uint64_t timed_out = 0;           ///< refused by block after the timeout
  std::uint64_t rejected_closed = 0;     ///< pushed after close()
  std::uint64_t discarded_on_close = 0;  ///< queued, then dropped by close(Drain::discard)
  std::size_t length = 0;                ///< events queued now
  std::size_t high_water = 0;            ///< the longest the queue has been
  std::uint64_t dropped_total() const noexcept {
    return dropped_oldest + dropped_newest + timed_out + rejected_closed + discarded_on_close;
  }
};

template <class T>
class BoundedQueue {
 public:
  enum class Drain { keep, discard };

  /// REQUIRES: capacity > 0. block_timeout: how long a push waits under `block`.
  BoundedQueue(std::size_t capacity, OverflowPolicy policy,
               std::chrono::milliseconds block_timeout = std::chrono::milliseconds(100))
      : ring_(capacity == 0 ? 1 : capacity), policy_(policy), block_timeout_(block_timeout) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  /// Pushes one event under the queue's policy; never allocates past the capacity.
  PushResult push(T event) {
    std::unique_lock lock(mu_);
    if (closed_) {
      ++stats_.rejected_closed;
      return PushResult::closed;
    }
    PushResult result = PushResult::queued;
    if (count_ == ring_.size()) {
      switch (policy_) {
        case OverflowPolicy::drop_newest: ++stats_.dropped_newest; return PushResult::dropped;
        case OverflowPolicy::drop_oldest:
          head_ = (head_ + 1) % ring_.size();
          --count_;
          ++stats_.dropped_oldest;
          result = PushResult::queued_evicted;
          break;
        case OverflowPolicy::block:
          if (!not_full_.wait_for(lock, block_timeout_, [&] { return closed_ || count_ < ring_.size(); })) {
            ++stats_.timed_out;
            return PushResult::timed_out;
          }
          if (closed_) {
            ++stats_.rejected_closed;
            return PushResult::closed;
          }
          break;
      }
    }
    ring_[(head_ + count_) % ring_.size()] = std::move(event);
    ++count_;
    ++stats_.pushed;
    if (count_ > stats_.high_water) stats_.high_water = count_;
    lock.unlock();
    not_empty_.notify_one();
    return result;
  }

  /// The oldest event, waiting for one; nullopt once the queue is closed and empty.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || count_ > 0; });
    return take(lock);
  }
  /// As pop(), waiting at most `timeout`; nullopt on timeout too.
  std::optional<T> pop_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    not_empty_.wait_for(lock, timeout, [&] { return closed_ || count_ > 0; });
    return take(lock);
  }
  /// Up to `max` events at once, without waiting (a consumer's batch).
  std::vector<T> pop_all(std::size_t max = SIZE_MAX) {
    std::unique_lock lock(mu_);
    std::vector<T> out;
    while (count_ > 0 && out.size() < max) {
      out.push_back(std::move(ring_[head_]));
      head_ = (head_ + 1) % ring_.size();
      --count_;
      ++stats_.popped;
    }
    lock.unlock();
    if (!out.empty()) not_full_.notify_all();
    return out;
  }

  /// Closes the queue (see the header comment). Idempotent.
  void close(Drain drain = Drain::keep) {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      if (drain == Drain::discard) {
        stats_.discarded_on_close += count_;
        for (std::size_t i = 0; i < count_; ++i) ring_[(head_ + i) % ring_.size()] = T{};
        count_ = 0;
      }
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  QueueStats stats() const {
    std::lock_guard lock(mu_);
    QueueStats s = stats_;
    s.length = count_;
    return s;
  }
  std::size_t capacity() const noexcept { return ring_.size(); }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  std::optional<T> take(std::unique_lock<std::mutex>& lock) {
    if (count_ == 0) return std::nullopt;
    std::optional<T> out(std::move(ring_[head_]));
    ring_[head_] = T{};
    head_ = (head_ + 1) % ring_.size();
    --count_;
    ++stats_.popped;
    lock.unlock();
    not_full_.notify_one();
    return out;
  }

  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::vector<T> ring_;    // guarded by mu_; fixed size (the capacity)
  std::size_t head_ = 0;   // guarded by mu_
  std::size_t count_ = 0;  // guarded by mu_
  bool closed_ = false;    // guarded by mu_
  QueueStats stats_;       // guarded by mu_
  const OverflowPolicy policy_;
  const std::chrono::milliseconds block_timeout_;
};

}  // namespace swarmkeeper::queue
