// SPDX-License-Identifier: Apache-2.0
// two_tier_cache.hpp — a cache with an in-process tier (L1) in front of Redis (L2),
// kept correct when other processes write, by server-assisted invalidation.
//
// L1 is a segmented LRU bounded in entries and bytes, each entry with a time to live
// (cache/l1_store.hpp in src/). L2 is Redis through a Router (router.hpp: a Client, or
// a ClusterClient, e.g. from open_router()): key `prefix + key`, values compressed like
// every value the router writes.
//
// Invalidation: RESP3 CLIENT TRACKING in BCAST mode with PREFIX <prefix>, on a
// connection of the cache's own to each master (one server: one; a cluster: one per
// master, each sending the invalidations of the writes it serves; L1 answers only while
// every one is up). Why BCAST: the cache reads through the Client's pool,
// whose connections come and go; default mode only tracks keys read on the tracking
// connection itself (or, with REDIRECT, on connections that each have to be set up and
// re-set up after every reconnect), and OPTIN adds a CLIENT CACHING round trip per
// read. BCAST sends an invalidation for every write under the prefix, whoever makes it
// and whichever connection read the key, and costs the server no per-key table (its
// memory does not grow with the keys we cache). The price: invalidations also arrive
// for keys that are not in L1 (they are dropped at once).
//
// The guarantees:
//   - once an invalidation of a key has arrived, L1 never serves the value it replaced;
//     a load that raced the invalidation is not installed (a "guard trip", counted);
//   - when a tracking connection drops (a kill, a restart, a network fault, or no
//     PONG within its command timeout), L1 is flushed and bypassed until tracking is
//     back; the cache then reads Redis directly and reconnects with backoff (on a
//     cluster, to the masters a surviving node names: a promoted replica is tracked);
//   - on a cluster, the masters are read (CLUSTER SLOTS) every tracking_ping: when one
//     is added, removed or replaced, L1 is flushed and tracking starts again on the new
//     set. A key whose slot moved to a master not yet tracked may be served stale from
//     L1 until then (at most tracking_ping plus a round trip, as for SWAPDB below). A
//     tracking connection to a cluster's master that does not answer within two
//     tracking_pings (at least 1 s) counts as lost, so a stalled master (which a
//     replica may replace) flushes L1 within that time;
//   - this cache's own set()/del() remove the key from L1 before they send and again
//     once Redis has answered, so a get() after set() returns never sees the old value;
//   - a get() never returns a value older than its own start, tracking up or down:
//     concurrent misses on one key share a load, but a caller only joins a load not yet
//     sent; one that arrives while a load is in flight waits for the next, sent when
//     that one ends (so at most two loads per key at once);
//   - L1 never keeps a value past the key's own expiry in Redis, counted from when the
//     GET was sent, nor past l1_ttl;
//   - the tracking connection has a thread of its own, so an invalidation is applied
//     when it arrives, not when the application's executor gets round to it; and with
//     strict_hits (the default) an L1 hit first checks that nothing unread waits on
//     the tracking socket, so once an invalidation or a disconnection has reached this
//     machine, L1 does not answer for the keys it concerns.
// What no client-side cache can promise: between another client's write and the
// arrival of its invalidation (one network hop; measured by `swarmkeeper bench
// blocks`), L1 may still serve the old value. A missing key is not cached.
// The one exception to "an invalidation for every write": Redis sends none for SWAPDB
// (the data under the cache's database changes wholesale, unannounced). The cache
// notices within tracking_ping (default 1 s) plus a round trip: it keeps a sentinel key
// under its prefix (`<prefix>__swarmkeeper_cache_sentinel__:<random>`, one per cache,
// with a time to live of at least 10 minutes) and reads it every tracking_ping; a value
// other than the one it wrote flushes L1 (CacheStats::sentinel_flushes). Until then L1
// may serve values of the database swapped away. A user that may not write under the
// prefix gets no sentinel (CacheStats::sentinel_checks false) and no such bound. A
// cluster has no SWAPDB (nor more than database 0): no sentinel is kept there.
//
// Threading: get() serves L1 hits on the calling thread (a mutex, no hop); loads,
// set(), del() and clear_all() run on the router's executor (callers elsewhere hop
// there and back). peek(), stats(), clear_l1() and close() may be called from any
// thread. The router must outlive the cache.
//
//   CacheOptions options;                            // (a variable: GCC 12 destroys a braced
//   options.prefix = "app:cache:";                   //  temporary inside co_await twice)
//   auto cache = co_await TwoTierCache::open(client, options);
//   if (!cache) co_return report(cache.error());
//   co_await (*cache)->set("user:42", json, std::chrono::minutes(10));
//   auto v = co_await (*cache)->get("user:42");     // Result<std::optional<std::string>>
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "swarmkeeper/client/client.hpp"  // (the Client most callers open the cache with; any Router will do)
#include "swarmkeeper/error.hpp"

namespace swarmkeeper::cache {

struct CacheOptions {
  /// Every key of this cache in Redis is prefix + key. Required, not empty; must not
  /// be a prefix of keys the cache does not own (clear_all() removes all of them).
  std::string prefix;
  /// L1 bounds. Defaults 10,000 entries and 64 MiB (keys + values + ~96 B each).
  std::size_t max_entries = 10000;
  std::size_t max_bytes = 64u << 20;
  /// Share of L1 kept for keys read more than once (segmented LRU), in [0, 1).
  /// 0 makes L1 a plain LRU. Default 0.8.
  double protected_share = 0.8;
  /// An L1 entry is dropped this long after it was loaded, invalidation or not (a
  /// bound on any staleness the server cannot tell us about). Default 60 s.
  std::chrono::milliseconds l1_ttl{60000};
  /// The tracking connection reads the sentinel (or PINGs) this often, so a silent
  /// (half-open) connection is noticed within ping + command_timeout, and a SWAPDB
  /// within ping + one round trip. Default 1 s.
  std::chrono::milliseconds tracking_ping{1000};
  /// Before an L1 hit, check (one poll() of the tracking socket, ~0.2 µs) that no
  /// invalidation or disconnection is waiting unread, nor read but not yet applied (the
  /// tracking connection raises a guard while it applies what it read; plain TCP; with
  /// TLS only the socket is checked). Off: hits skip the syscall and trust that the
  /// tracking thread keeps up (it applies what arrives at once, but a loaded machine
  /// may not run it for a while). Default on.
  bool strict_hits = true;
  /// clear_all(): keys per SCAN page (COUNT) and per UNLINK. Default 500.
  std::size_t clear_batch = 500;
};

struct CacheStats {
  std::uint64_t hits = 0;                    ///< get() answered from L1
  std::uint64_t misses = 0;                  ///< get() that went to Redis (or joined a load)
  std::uint64_t loads = 0;                   ///< GETs sent to Redis for misses
  std::uint64_t load_failures = 0;           ///< of which failed
  std::uint64_t invalidations_received = 0;  ///< keys named by invalidation messages
  std::uint64_t invalidations_applied = 0;   ///< of which were in L1 (and removed)
  std::uint64_t flushes = 0;                 ///< whole-L1 flushes (tracking lost, FLUSHALL, clear_l1)
  std::uint64_t evictions = 0;               ///< entries pushed out by the L1 bounds
  std::uint64_t expirations = 0;             ///< entries dropped at their L1 time to live
  std::uint64_t rejected = 0;                ///< values too large for L1 (> max_bytes / 8)
  std::uint64_t guard_trips = 0;             ///< loads not installed: an invalidation raced them
  std::uint64_t bypassed = 0;                ///< get() served from Redis while tracking was down
  std::uint64_t tracking_connects = 0;       ///< tracking connections set up (1 + reconnects)
  std::uint64_t sentinel_flushes = 0;        ///< L1 flushes because the sentinel was not as written (SWAPDB)
  bool sentinel_checks = false;  ///< the sentinel is written and read (false: the server refused it)
  bool tracking_up = false;      ///< L1 in use right now
  std::size_t l1_entries = 0;
  std::size_t l1_bytes = 0;
};

struct ClearReport {
  std::uint64_t scanned = 0;   ///< keys SCAN returned under the prefix
  std::uint64_t deleted = 0;   ///< keys UNLINK removed
  std::uint64_t calls = 0;     ///< SCAN and UNLINK calls made
  double longest_call_ms = 0;  ///< the slowest of them, client side
};

class TwoTierCache {
 public:
  struct Impl;
  using Value = std::optional<std::string>;

  /// Opens a tracking connection to each of the router's masters (with its connection
  /// options) and waits until CLIENT TRACKING is on on every one. Fails with
  /// invalid_argument for bad options, or with the connection's error; a server without
  /// RESP3 (Redis < 6) fails with invalid_argument saying so.
  static boost::asio::awaitable<Result<std::unique_ptr<TwoTierCache>>> open(Router& router,
                                                                            CacheOptions options);
  /// Checks options without opening anything (empty prefix, zero bounds, bad share).
  static Result<void> validate(const CacheOptions& options);

  ~TwoTierCache();
  TwoTierCache(const TwoTierCache&) = delete;
  TwoTierCache& operator=(const TwoTierCache&) = delete;

  /// The value of `key`: from L1, else from Redis (installed in L1 when tracking is up
  /// and no invalidation raced the load). nullopt: no such key.
  boost::asio::awaitable<Result<Value>> get(std::string key);
  /// Writes `key` to Redis (PX ttl when ttl > 0) and removes it from L1.
  boost::asio::awaitable<Result<void>> set(std::string key, std::string value,
                                           std::chrono::milliseconds ttl = std::chrono::milliseconds(0));
  /// Deletes keys from Redis (UNLINK) and L1; returns how many Redis removed.
  boost::asio::awaitable<Result<std::int64_t>> del(std::vector<std::string> keys);
  /// Removes every key under the prefix from Redis (SCAN MATCH + UNLINK, each call
  /// bounded by clear_batch; keys SCAN returns that do not start with the prefix are
  /// never deleted) and flushes L1. Keys written during the call may survive it.
  boost::asio::awaitable<Result<ClearReport>> clear_all();

  /// The L1 value of `key` if present, without touching Redis. Thread-safe.
  Value peek(const std::string& key);
  /// Drops every L1 entry. Thread-safe.
  void clear_l1();
  /// Counters and sizes. Thread-safe.
  CacheStats stats() const;
  /// Stops tracking and closes the tracking connection; L1 is flushed and later get()s
  /// read Redis directly.
  void close();

 private:
  explicit TwoTierCache(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace swarmkeeper::cache
