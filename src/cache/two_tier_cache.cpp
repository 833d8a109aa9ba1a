// SPDX-License-Identifier: Apache-2.0
// two_tier_cache.cpp — the driver of two_tier_cache.hpp: the tracking connections' life
// (one per master: connect, CLIENT TRACKING, PING, follow a cluster's masters, reconnect
// with backoff), invalidation messages, loads with single flight, writes, and clear_all. The rules live in
// l1_store.hpp (what L1 holds) and flight_table.hpp (whether a load may enter L1); this file moves bytes.
#include "swarmkeeper/cache/two_tier_cache.hpp"

#include "client/backoff.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "cache/flight_table.hpp"
#include "cache/l1_store.hpp"
#include "client/on_executor.hpp"
#include "net/connection.hpp"
#include "net/info_text.hpp"
#include "sched/annotated_mutex.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/client/cluster_slots.hpp"
#include "swarmkeeper/client/glob.hpp"

namespace swarmkeeper::cache {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

// A flight's rendezvous: the leader stores the result and cancels the timer, which
// wakes every waiter. Touched only on the client's executor.
struct FlightWait {
  std::optional<Result<TwoTierCache::Value>> result;
  std::shared_ptr<asio::steady_timer> wake;
};

struct TwoTierCache::Impl : std::enable_shared_from_this<Impl> {
  Impl(Router& r, CacheOptions o, std::vector<ConnectionOptions> masters)
      : router(r),
        ex(r.executor()),
        opts(std::move(o)),
        l1(L1Limits{opts.max_entries, opts.max_bytes, opts.protected_share}),
        tracked(std::move(masters)),
        pause(tio) {
    std::mt19937_64 rng(std::random_device{}());
    char token[33];
    std::snprintf(token, sizeof token, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    sentinel_token = token;
    sentinel_key = opts.prefix + std::string(kSentinelName) + sentinel_token;
  }
  ~Impl() { stop_thread(); }

  Router& router;                  // outlives the cache (REQUIRES of open())
  const asio::any_io_executor ex;  // the router's: loads and their waiters
  const CacheOptions opts;
  // The sentinel (see sentinel_set): a key of this cache's own under the prefix,
  // holding a random token. Constant after construction.
  static constexpr std::string_view kSentinelName = "__swarmkeeper_cache_sentinel__:";
  std::string sentinel_token, sentinel_key;
  std::string sentinel_value;         // tracking thread only: the value last written
  std::uint64_t sentinel_writes = 0;  // tracking thread only

  mutable sched::Mutex mu;
  L1Store l1 SK_GUARDED_BY(mu);
  FlightTable<FlightWait> flights SK_GUARDED_BY(mu);  // (payloads: client executor only)
  std::uint64_t epoch SK_GUARDED_BY(mu) = 0;
  bool tracking_up SK_GUARDED_BY(mu) = false;
  std::uint64_t generation SK_GUARDED_BY(mu) = 0;              // the set of tracking connections now
  mutable std::vector<pollfd> tracking_fds SK_GUARDED_BY(mu);  // the tracking sockets while up
  std::atomic<int> reading{0};  // raised while a tracking connection applies what it read
  std::optional<Error> first_attempt SK_GUARDED_BY(mu);  // how the first connection went
  CacheStats counts SK_GUARDED_BY(mu);

  // The tracking connection has a thread of its own, so invalidations are applied the
  // moment they arrive, however busy the client's executor is.
  asio::io_context tio;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{tio.get_executor()};
  std::thread thread;
  // Tracking thread only: the masters tracked (one server: that one; a cluster: every
  // master, followed as its map changes), whether they are a cluster's (asked of the
  // first connection; a cluster has no SWAPDB, so no sentinel), a connection per master,
  // and whether the last set ended because the masters changed.
  std::vector<ConnectionOptions> tracked;
  bool cluster = false, asked_cluster = false, masters_moved = false;
  std::vector<std::shared_ptr<net::Connection>> links;
  asio::steady_timer pause;  // PING interval, backoff
  std::atomic<bool> closing{false};

  void stop_thread() {
    work.reset();
    if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) thread.join();
  }

  // --- coherence (any thread, under mu) ---

  void flush_locked() SK_REQUIRES(mu) {
    ++epoch;
    l1.clear();
    flights.invalidate_all();
    ++counts.flushes;
  }

  // Tracking went up on the sockets `fds` (a new generation), or down. A connection of
  // an earlier generation that closes late changes nothing.
  void tracking_up_on(const std::vector<int>& fds, std::uint64_t gen) {
    sched::Lock lock(mu);
    generation = gen;
    tracking_up = true;
    tracking_fds.clear();
    for (int fd : fds) tracking_fds.push_back(pollfd{fd, POLLIN | POLLRDHUP, 0});
    flush_locked();
    ++counts.tracking_connects;
  }
  void tracking_down(std::optional<std::uint64_t> gen = std::nullopt) {
    sched::Lock lock(mu);
    if (!tracking_up || (gen && *gen != generation)) return;
    tracking_up = false;
    tracking_fds.clear();
    flush_locked();
  }

  // Whether L1 may answer now: tracking is up and nothing unread waits on any tracking
  // socket (an invalidation or the end of the connection that the tracking thread has
  // not taken yet). REQUIRES: mu held.
  bool l1_trusted_locked() const SK_REQUIRES(mu) {
    if (!tracking_up) return false;
    if (!opts.strict_hits) return true;
    if (::poll(tracking_fds.data(), static_cast<nfds_t>(tracking_fds.size()), 0) != 0)
      return false;              // unread bytes, or the end of a connection
    return reading.load() == 0;  // taken from a socket but not yet applied
  }

  // An L1 hit, counted; nullopt when L1 does not have it or may not answer.
  std::optional<Value> hit_locked(std::string_view key) SK_REQUIRES(mu) {
    if (!l1_trusted_locked()) return std::nullopt;
    const std::string* v = l1.find(key, Clock::now());
    if (!v) return std::nullopt;
    ++counts.hits;
    return Value(*v);
  }

  void invalidate_local(std::string_view key) {
    sched::Lock lock(mu);
    l1.erase(key);
    flights.invalidate(key);
  }

  // An invalidation push: ["invalidate", [keys...]] or ["invalidate", null] (FLUSHALL).
  void on_push(const resp::ReplyView& v) {
    const resp::ReplyRef r = v.root();
    if (r.size() < 2 || r[0].str() != "invalidate") return;
    const resp::ReplyRef keys = r[1];
    const std::string_view own_sentinel = std::string_view(sentinel_key).substr(opts.prefix.size());
    sched::Lock lock(mu);
    if (!keys.is_aggregate()) {
      flush_locked();
      return;
    }
    for (resp::ReplyRef k : keys) {
      ++counts.invalidations_received;
      std::string_view key = k.str();
      if (key.substr(0, opts.prefix.size()) != opts.prefix) continue;  // BCAST PREFIX sends none
      key.remove_prefix(opts.prefix.size());
      if (key == own_sentinel) {  // this cache's own sentinel write: not a key of the cache
        --counts.invalidations_received;
        continue;
      }
      if (l1.erase(key)) ++counts.invalidations_applied;
      flights.invalidate(key);
    }
  }

  // --- the tracking connections (tracking thread only) ---

  bool all_open() const {
    for (const auto& c : links)
      if (!c->is_open()) return false;
    return !links.empty();
  }
  // Closes this generation's connections; returns `why`.
  Error end_links(Error why) {
    for (const auto& c : links) c->close();
    return why;
  }

  // Connecting and each command wait at most `most` (never longer than configured).
  static void bound_waits(ConnectionOptions& o, std::chrono::milliseconds most) {
    o.command_timeout = std::min(o.command_timeout, most);
    o.connect_timeout = std::min(o.connect_timeout, most);
  }

  // One tracking connection to `where`, CLIENT TRACKING on.
  asio::awaitable<Result<std::shared_ptr<net::Connection>>> track_at(ConnectionOptions where,
                                                                     std::uint64_t gen) {
    where.protocol = 3;
    if (!where.client_name.empty()) where.client_name += "-cache-tracking";
    // On a cluster another master may take over a stalled one's slots: a master that does
    // not answer within two pings (at least 1 s) counts as lost (L1 flushed), so the
    // masters check after the PINGs is not held up for the whole command timeout.
    if (cluster || tracked.size() > 1)  // (and connecting to it, so a close() is not held up either)
      bound_waits(where, std::max<std::chrono::milliseconds>(2 * opts.tracking_ping,
                                                             std::chrono::milliseconds(1000)));
    auto opened = co_await net::Connection::open(tio.get_executor(), where);
    if (!opened) co_return opened.error();
    std::shared_ptr<net::Connection> c = *opened;
    links.push_back(c);
    c->set_read_guard(&reading);
    if (c->protocol() != 3)
      co_return Error(
          Errc::invalid_argument,
          "the cache needs RESP3 client-side caching (CLIENT TRACKING, Redis 6 or later); this server "
          "speaks RESP2");
    std::weak_ptr<Impl> weak = weak_from_this();
    c->on_push([weak](const resp::ReplyView& v) {
      if (auto self = weak.lock()) self->on_push(v);
    });
    c->on_close([weak, gen](const Error&) {
      if (auto self = weak.lock()) self->tracking_down(gen);
    });
    auto on = co_await c->exec(
        resp::Command("CLIENT").arg("TRACKING").arg("ON").arg("BCAST").arg("PREFIX").arg(opts.prefix));
    if (!on) co_return on.error();
    co_return c;
  }

  // The masters a cluster node's CLUSTER SLOTS names, each reached as the first tracked
  // one is (TLS, credentials, timeouts), in the order the map lists them.
  asio::awaitable<Result<std::vector<ConnectionOptions>>> masters_from(net::Connection& c) {
    auto r = co_await c.exec(resp::Command("CLUSTER").arg("SLOTS"));
    if (!r) co_return r.error();
    auto map = SlotMap::from_cluster_slots(r->root());
    if (!map) co_return map.error();
    std::vector<ConnectionOptions> out;
    for (const ClusterNode& n : map->masters()) {
      ConnectionOptions o = tracked.front();
      o.host = n.host;
      o.port = n.port;
      out.push_back(std::move(o));
    }
    if (out.empty()) co_return Error(Errc::unexpected_reply, "CLUSTER SLOTS named no master");
    co_return out;
  }
  // Whether the masters the first tracking connection's node names now differ from the
  // tracked ones; if so they become the tracked ones (masters_moved: a new set is due). A
  // node that does not answer changes nothing.
  asio::awaitable<bool> masters_changed() {
    auto now = co_await masters_from(*links.front());
    const auto same = [](const auto& x, const auto& y) { return x.host == y.host && x.port == y.port; };
    if (!now || std::equal(now->begin(), now->end(), tracked.begin(), tracked.end(), same)) co_return false;
    tracked = std::move(*now);
    masters_moved = true;
    co_return true;
  }
  // After a failure, a cluster's masters as any node tracked before sees them now (a
  // failover may have promoted a replica); unchanged when none answers.
  asio::awaitable<void> relearn_masters() {
    for (const ConnectionOptions& at : std::vector<ConnectionOptions>(tracked)) {
      if (closing) co_return;
      ConnectionOptions o = at;
      bound_waits(o, std::chrono::milliseconds(2000));
      auto c = co_await net::Connection::open(tio.get_executor(), o);
      if (!c) continue;
      auto now = co_await masters_from(**c);
      (*c)->close();
      if (!now) continue;
      tracked = std::move(*now);
      co_return;
    }
  }

  // One set of connections' life: connect to every master, turn tracking on, then PING
  // (one server: read the sentinel) until one dies or, on a cluster, the masters change.
  // Returns the error that ended it (or prevented it).
  asio::awaitable<Error> track_once() {
    links.clear();
    std::uint64_t gen = 0;
    {
      sched::Lock lock(mu);
      gen = generation + 1;
    }
    std::vector<int> fds;
    for (const ConnectionOptions& m : std::vector<ConnectionOptions>(tracked)) {
      if (closing) co_return end_links(Error(Errc::cancelled, "cache closed"));
      auto c = co_await track_at(m, gen);
      if (!c) co_return end_links(c.error());
      fds.push_back((*c)->native_handle());
    }
    if (!asked_cluster) {  // a cluster's masters are followed (it has no SWAPDB: no sentinel)
      cluster = co_await net::is_cluster_node(*links.front());
      asked_cluster = true;
    }
    if (cluster) {  // the router's map may be older than the node's
      if (co_await masters_changed())
        co_return end_links(Error(Errc::cancelled, "the cluster's masters changed"));
    }
    // The sentinel is written before tracking is declared up (which flushes L1): a
    // SWAPDB before that flush cannot have put anything in L1.
    bool sentinel = false;
    if (!cluster) sentinel = co_await write_sentinel();
    tracking_up_on(fds, gen);
    {
      sched::Lock lock(mu);
      if (!first_attempt) first_attempt = Error();
    }
    auto written = Clock::now();
    int ticks_without = 0;
    while (all_open() && !closing) {
      pause.expires_after(opts.tracking_ping);
      co_await pause.async_wait(nothrow);
      if (!all_open() || closing) break;
      if (cluster) {  // every master PINGed; a master added, gone or replaced: a new set
        bool alive = true;
        for (const auto& c : links)
          if (auto pong = co_await c->exec(resp::Command("PING")); !pong) alive = false;
        if (!alive) break;  // (the connection that failed flushed L1 through on_close)
        if (co_await masters_changed()) break;
        continue;
      }
      net::Connection& tracking = *links.front();
      if (!sentinel) {  // refused before: PING, and try the sentinel again now and then
        auto pong = co_await tracking.exec(resp::Command("PING"));
        if (!pong) break;  // the connection failed (and flushed L1 through on_close)
        if (++ticks_without < 30) continue;
        ticks_without = 0;
        sentinel = co_await write_sentinel();
        if (sentinel) sentinel_changed();  // what L1 holds was not checked meanwhile
        written = Clock::now();
        continue;
      }
      // Past half its time to live the sentinel is written again with a new value (SET
      // ... GET: checks and writes in one step); otherwise read. Either doubles as PING.
      const bool rewrite = Clock::now() - written > sentinel_ttl() / 2;
      const std::string expected = sentinel_value;
      Result<resp::Reply> r = resp::Reply();
      if (rewrite)
        r = co_await sentinel_set(true);  // never co_await inside ?: (GCC 12)
      else
        r = co_await tracking.exec(resp::Command("GET").arg(sentinel_key));
      if (!r) {
        if (!tracking.is_open()) break;  // the connection failed (and flushed L1 through on_close)
        sentinel = false;                // refused (a server without SET ... GET, OOM, READONLY)
        sentinel_refused();
        continue;
      }
      if (rewrite) written = Clock::now();
      if (!r->is_null() && r->str() == expected) continue;
      // Not as written: the data under the cache changed without an invalidation (a
      // SWAPDB, either way; or the sentinel was deleted, evicted or expired). Written
      // again, then L1 flushed: loads installed before the flush are gone, loads after it
      // read the data as it is now, and a swap from here on changes the new value.
      if (!rewrite) {
        sentinel = co_await write_sentinel();
        written = Clock::now();
      }
      sentinel_changed();
    }
    Error why = Error(Errc::cancelled, "cache closed");
    for (const auto& c : links)
      if (!c->is_open()) why = c->failure();
    if (masters_moved) why = Error(Errc::cancelled, "the cluster's masters changed");
    tracking_down(gen);
    co_return end_links(why);
  }

  // The sentinel. Redis sends no invalidation for SWAPDB (nor does a client of the
  // swapped database notice anything), so the cache keeps a key of its own under its
  // prefix and reads it every tracking_ping: a value other than its token means the
  // data under the cache changed wholesale, and L1 is flushed. One key per cache, with
  // a time to live (left behind by a cache that dies, it expires). One server only.
  std::chrono::milliseconds sentinel_ttl() const {
    return std::max<std::chrono::milliseconds>(std::chrono::minutes(10), 20 * opts.tracking_ping);
  }
  // SET the sentinel to a new value (one never written before: a database swapped away
  // and back again still shows an old one); with get_old, returns the value it replaced.
  asio::awaitable<Result<resp::Reply>> sentinel_set(bool get_old) {
    const std::string value = sentinel_token + ":" + std::to_string(++sentinel_writes);
    resp::Command c("SET");
    c.arg(sentinel_key).arg(value).arg("PX").arg(sentinel_ttl().count());
    if (get_old) c.arg("GET");
    auto r = co_await links.front()->exec(c);
    if (r) sentinel_value = value;
    co_return r;
  }
  // Writes the sentinel; false (PING instead, tried again later) when the server refuses
  // it (a user that may not write under the prefix, OOM): CacheStats::sentinel_checks.
  asio::awaitable<bool> write_sentinel() {
    auto r = co_await sentinel_set(false);
    sched::Lock lock(mu);
    counts.sentinel_checks = static_cast<bool>(r);
    co_return static_cast<bool>(r);
  }
  void sentinel_refused() {
    sched::Lock lock(mu);
    counts.sentinel_checks = false;
  }
  void sentinel_changed() {
    sched::Lock lock(mu);
    flush_locked();
    ++counts.sentinel_flushes;
  }

  static asio::awaitable<void> tracking_loop(std::shared_ptr<Impl> self) {
    const auto& copts = self->router.options();  // (constant: read from any thread)
    std::mt19937_64 rng(std::random_device{}());
    client::Backoff backoff({copts.reconnect_initial, copts.reconnect_max});  // the pool's own rule
    while (!self->closing) {
      const auto started = Clock::now();
      self->masters_moved = false;
      Error why = co_await self->track_once();
      {
        sched::Lock lock(self->mu);
        if (!self->first_attempt && !self->masters_moved) {  // open() reports the first failure and gives up
          self->first_attempt = why;
          break;
        }
      }
      if (self->closing) break;
      if (self->masters_moved) {  // straight on to the new set
        backoff.reset();
        continue;
      }
      if (Clock::now() - started > std::chrono::seconds(10)) backoff.reset();  // it was healthy
      self->pause.expires_after(backoff.next_delay(rng));
      co_await self->pause.async_wait(nothrow);
      if (self->cluster && !self->closing) co_await self->relearn_masters();
    }
    self->end_links(Error());
    self->links.clear();
  }

  // Starts the tracking thread and its loop. The loop holds the Impl until it ends.
  void start() {
    asio::co_spawn(tio, tracking_loop(shared_from_this()), asio::detached);
    thread = std::thread([this] { tio.run(); });
  }

  // --- loads (executor only) ---

  struct Loaded {
    Value value;
    Clock::time_point expires{};  // until when L1 may keep it
  };

  // GET and PTTL in one write: the value, and until when L1 may keep it — never past the
  // key's own expiry in Redis, counted from when the GET was sent (the reply may come
  // back late; the key's time to live ran meanwhile).
  asio::awaitable<Result<Loaded>> read_l2(const std::string& key) {
    const std::string full = opts.prefix + key;
    std::vector<resp::Command> p;
    p.emplace_back("GET").arg(full);
    p.emplace_back("PTTL").arg(full);
    const auto sent = Clock::now();
    auto replies = co_await router.pipeline(std::move(p), true);
    if (!replies) co_return replies.error();
    const resp::Reply& got = (*replies)[0];
    if (got.is_error()) co_return net::error_from_reply(got.root(), "GET " + full);
    Loaded out;
    if (got.is_null()) co_return out;
    const resp::Type pttl_type = (*replies)[1].root().type();
    if (got.root().type() != resp::Type::bulk_string ||
        (pttl_type != resp::Type::integer && !(*replies)[1].is_error()))
      co_return Error(Errc::unexpected_reply, "GET " + full + " answered a " +
                                                  resp::type_name(got.root().type()) + " (PTTL a " +
                                                  resp::type_name(pttl_type) + "): not a cached value");
    auto value = router.decode_value(got.str());
    if (!value) co_return value.error();
    out.value = std::move(*value);
    const std::int64_t pttl = (*replies)[1].root().integer();
    out.expires = sent + (pttl > 0 ? std::min(opts.l1_ttl, std::chrono::milliseconds(pttl)) : opts.l1_ttl);
    co_return out;
  }

  using Flights = FlightTable<FlightWait>;

  // Waits (on the executor) until `f` has its result.
  static asio::awaitable<void> await_result(const Flights::Flight& f) {
    auto wake = f.payload.wake;
    while (!f.payload.result) co_await wake->async_wait(nothrow);
  }

  // A miss: joins the key's next load, or leads one (flight_table.hpp: no caller is
  // handed a load sent before its call). REQUIRES: on the executor.
  asio::awaitable<Result<Value>> load(std::string key) {
    Flights::Joined j;
    {
      sched::Lock lock(mu);
      if (auto hit = hit_locked(key)) co_return std::move(*hit);  // filled while we hopped here
      if (!tracking_up) ++counts.bypassed;
      ++counts.misses;
      j = flights.join(key, epoch);
      if (j.role != Flights::Role::join)
        j.flight->payload.wake = std::make_shared<asio::steady_timer>(ex, Clock::time_point::max());
    }
    const std::shared_ptr<Flights::Flight>& flight = j.flight;
    if (j.role == Flights::Role::join) {
      co_await await_result(*flight);
      co_return *flight->payload.result;
    }
    // However the leader leaves (an exception, a cancelled caller), its flight ends and
    // its waiters wake; otherwise the key's later misses would wait forever.
    struct Abandon {
      Impl& self;
      std::shared_ptr<Flights::Flight> f;
      bool armed = true;
      ~Abandon() {
        if (!armed) return;
        {
          sched::Lock lock(self.mu);
          self.flights.abandon(f);
        }
        f->payload.result = Error(Errc::cancelled, "the load this get() shared was abandoned by its leader");
        f->payload.wake->cancel();
      }
    } abandon{*this, flight};
    if (j.role == Flights::Role::lead_after) {
      co_await await_result(*j.after);
      sched::Lock lock(mu);
      flights.sent(flight, epoch);
    }
    Result<Loaded> loaded = co_await read_l2(key);
    Result<Value> result = Value();
    {
      sched::Lock lock(mu);
      ++counts.loads;
      flights.finish(flight);
      if (!loaded) {
        ++counts.load_failures;
        result = loaded.error();
      } else {
        result = loaded->value;
        if (loaded->value) {
          if (Flights::installable(*flight, epoch, l1_trusted_locked())) {
            l1.put(key, *loaded->value, loaded->expires);
          } else if (tracking_up) {
            ++counts.guard_trips;
          }
        }
      }
    }
    abandon.armed = false;
    flight->payload.result = result;
    flight->payload.wake->cancel();
    co_return result;
  }

  // Removes every key under the prefix, master by master: one bounded SCAN page, then
  // its keys in UNLINKs of at most clear_batch. REQUIRES: on the executor.
  asio::awaitable<Result<ClearReport>> clear_all() {
    ClearReport report;
    clear_l1();
    for (const ConnectionOptions& master : router.masters()) {
      if (auto e = co_await clear_master(master, report); e) co_return e;
      if (closing) break;
    }
    clear_l1();
    co_return report;
  }

  asio::awaitable<Error> clear_master(const ConnectionOptions& master, ClearReport& report) {
    const std::string match = glob_escape(opts.prefix) + "*";
    std::string cursor = "0";
    do {
      auto t0 = Clock::now();
      auto page = co_await router.scan_at(master, cursor, match, opts.clear_batch);
      report.longest_call_ms = std::max(report.longest_call_ms, ms_since(t0));
      ++report.calls;
      if (!page) co_return page.error();
      cursor = page->first;
      std::vector<std::string> batch;
      for (auto& k : page->second) {
        if (k.compare(0, opts.prefix.size(), opts.prefix) != 0) continue;  // never outside the prefix
        if (k == sentinel_key) continue;                                   // this cache's own
        ++report.scanned;
        batch.push_back(std::move(k));
        if (batch.size() < opts.clear_batch) continue;
        if (auto e = co_await unlink_batch(batch, report); e) co_return e;
      }
      if (!batch.empty()) {
        if (auto e = co_await unlink_batch(batch, report); e) co_return e;
      }
    } while (cursor != "0" && !closing);
    co_return Error();
  }

  asio::awaitable<Error> unlink_batch(std::vector<std::string>& batch, ClearReport& report) {
    auto t0 = Clock::now();
    auto n = co_await router.unlink(std::move(batch));
    batch.clear();
    report.longest_call_ms = std::max(report.longest_call_ms, ms_since(t0));
    ++report.calls;
    if (!n) co_return n.error();
    report.deleted += static_cast<std::uint64_t>(*n);
    co_return Error();
  }

  void clear_l1() {
    sched::Lock lock(mu);
    flush_locked();
  }

  // Stops tracking; the loop ends and the thread runs out of work.
  void close() {
    if (closing.exchange(true)) return;
    asio::post(tio, [self = shared_from_this()] {
      self->pause.cancel();
      self->end_links(Error());
      self->tracking_down();
    });
  }
};

Result<void> TwoTierCache::validate(const CacheOptions& o) {
  auto bad = [](std::string what) {
    return Error(Errc::invalid_argument, "cache options: " + std::move(what));
  };
  if (o.prefix.empty())
    return bad(
        "prefix is empty; give the cache a key prefix of its own (e.g. \"app:cache:\"): clear_all() "
        "removes every key under it");
  if (o.max_entries == 0) return bad("max_entries is 0; give L1 room for at least one entry");
  if (o.max_bytes < 1024) return bad("max_bytes is below 1 KiB");
  if (!std::isfinite(o.protected_share) || o.protected_share < 0 || o.protected_share >= 1)
    return bad("protected_share must be in [0, 1) (0: plain LRU)");
  if (o.l1_ttl.count() <= 0) return bad("l1_ttl must be positive");
  if (o.tracking_ping.count() <= 0) return bad("tracking_ping must be positive");
  if (o.clear_batch == 0 || o.clear_batch > 100000) return bad("clear_batch must be in 1..100000");
  return {};
}

asio::awaitable<Result<std::unique_ptr<TwoTierCache>>> TwoTierCache::open(Router& router,
                                                                          CacheOptions options) {
  if (auto ok = validate(options); !ok) co_return ok.error();
  auto masters = co_await client_detail::on_executor(
      router.executor(), [](Router& r) -> asio::awaitable<std::vector<ConnectionOptions>> {
        co_return r.masters();  // (a cluster's slot map lives on its executor)
      }(router));
  if (masters.empty()) co_return Error(Errc::invalid_argument, "the cache's router names no master");
  auto impl = std::make_shared<Impl>(router, std::move(options), std::move(masters));
  impl->start();
  // The first connection reports here; wait for it without blocking the caller's thread.
  asio::steady_timer poll_timer(co_await asio::this_coro::executor);
  std::optional<Error> outcome;
  while (true) {
    {
      sched::Lock lock(impl->mu);
      outcome = impl->first_attempt;
    }
    if (outcome) break;
    poll_timer.expires_after(std::chrono::milliseconds(2));
    co_await poll_timer.async_wait(nothrow);
  }
  if (*outcome) {
    impl->close();
    impl->stop_thread();
    co_return *outcome;
  }
  co_return std::unique_ptr<TwoTierCache>(new TwoTierCache(std::move(impl)));
}

TwoTierCache::~TwoTierCache() {
  impl_->close();
  impl_->stop_thread();
}

asio::awaitable<Result<TwoTierCache::Value>> TwoTierCache::get(std::string key) {
  auto impl = impl_;
  {
    sched::Lock lock(impl->mu);
    if (auto hit = impl->hit_locked(key)) co_return std::move(*hit);
  }
  co_return co_await client_detail::on_executor(impl->ex, impl->load(std::move(key)));
}

asio::awaitable<Result<void>> TwoTierCache::set(std::string key, std::string value,
                                                std::chrono::milliseconds ttl) {
  auto impl = impl_;
  if (ttl.count() < 0) co_return Error(Errc::invalid_argument, "cache set: ttl must not be negative");
  impl->invalidate_local(key);
  auto r = co_await client_detail::on_executor(
      impl->ex, impl->router.set(impl->opts.prefix + key, std::move(value), ttl));
  impl->invalidate_local(key);
  co_return r;
}

asio::awaitable<Result<std::int64_t>> TwoTierCache::del(std::vector<std::string> keys) {
  auto impl = impl_;
  if (keys.empty()) co_return std::int64_t{0};
  std::vector<std::string> full;
  full.reserve(keys.size());
  for (const auto& k : keys) {
    impl->invalidate_local(k);
    full.push_back(impl->opts.prefix + k);
  }
  auto r = co_await client_detail::on_executor(impl->ex, impl->router.unlink(std::move(full)));
  for (const auto& k : keys) impl->invalidate_local(k);
  co_return r;
}

asio::awaitable<Result<ClearReport>> TwoTierCache::clear_all() {
  auto impl = impl_;
  co_return co_await client_detail::on_executor(impl->ex, impl->clear_all());
}

TwoTierCache::Value TwoTierCache::peek(const std::string& key) {
  sched::Lock lock(impl_->mu);
  if (!impl_->l1_trusted_locked()) return std::nullopt;
  const std::string* v = impl_->l1.find(key, Clock::now());
  return v ? Value(*v) : Value();
}

void TwoTierCache::clear_l1() {
  impl_->clear_l1();
}

CacheStats TwoTierCache::stats() const {
  sched::Lock lock(impl_->mu);
  CacheStats s = impl_->counts;
  s.evictions = impl_->l1.counters().evictions;
  s.expirations = impl_->l1.counters().expirations;
  s.rejected = impl_->l1.counters().rejected;
  s.tracking_up = impl_->tracking_up;
  s.l1_entries = impl_->l1.size();
  s.l1_bytes = impl_->l1.bytes();
  return s;
}

void TwoTierCache::close() {
  impl_->close();
  impl_->stop_thread();
}

}  // namespace swarmkeeper::cache
