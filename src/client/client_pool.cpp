// SPDX-License-Identifier: Apache-2.0
// client_pool.cpp — the pool of Client (client_pool.hpp): which connection a command goes
// to, when connections open, close and are replaced, health checks and metrics.
// Connections are net::Connection (their Multiplexer coalesces each connection's
// commands into one write).
#include "client/client_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include "net/connection.hpp"

namespace swarmkeeper {

using namespace client_detail;

void Client::Impl::wake_waiters() {
  for (auto* t : waiting) t->cancel();
}

asio::awaitable<void> Client::Impl::park_until(Clock::time_point until) {
  asio::steady_timer wait(ex, until);
  ++waiters;
  waiting.push_back(&wait);
  co_await wait.async_wait(nothrow);
  std::erase(waiting, &wait);
  --waiters;
}

asio::awaitable<Result<std::vector<resp::Reply>>> Client::Impl::exec_many(std::string payload,
                                                                          std::size_t count) {
  auto slot = co_await acquire(Clock::now());
  if (!slot) co_return slot.error();
  std::vector<resp::Reply> replies;
  replies.reserve(count);
  auto keep = [](void* ctx, const resp::ReplyView& v) {
    static_cast<std::vector<resp::Reply>*>(ctx)->emplace_back(v);
  };
  ++(*slot)->in_flight;
  commands_sent += count;
  Error e = co_await (*slot)->conn->exec_raw(payload, count, net::ReplySink{&replies, keep});
  --(*slot)->in_flight;
  if (e) co_return e;
  co_return replies;
}

void Client::Impl::retire(const std::shared_ptr<net::Connection>& c) {
  closed_bytes_out += c->bytes_written();
  closed_bytes_in += c->bytes_read();
  closed_writes += c->writes();
  c->close();
}

void Client::Impl::drop(std::size_t i) {
  const auto& c = slots[i]->conn;
  if (c->failure().code() != Errc::cancelled) ++failures;
  retire(c);
  slots.erase(slots.begin() + static_cast<std::ptrdiff_t>(i));
  open_count = slots.size();
}

void Client::Impl::prune_dead() {
  for (std::size_t i = slots.size(); i-- > 0;)
    if (!slots[i]->conn->is_open()) drop(i);
}

asio::awaitable<Result<std::shared_ptr<Client::Impl::Slot>>> Client::Impl::acquire(Clock::time_point t0) {
  // The clock is read only once the fast path (an open connection with room) fails: a
  // command that finds one waited 0 ns.
  Clock::time_point deadline{};
  for (bool first = true;; first = false) {
    if (closed) co_return Error(Errc::cancelled, "the client is closed");
    prune_dead();
    std::shared_ptr<Slot> best;
    for (const auto& s : slots)
      if (!best || s->in_flight < best->in_flight) best = s;
    const bool can_open = slots.size() + connecting + leased < opts.max_connections;
    if (best && (best->in_flight < opts.pipeline_batch || !can_open || connecting > 0)) {
      acquire_ns.record(first ? 0 : ns_since(t0));
      co_return best;
    }
    const auto now = Clock::now();
    if (first) deadline = t0 + opts.acquire_timeout;
    if (can_open && (connecting == 0 || best) && now >= next_connect_at) {
      ++connecting;
      auto c = co_await net::Connection::open(ex, opts.connection);
      --connecting;
      ++connects;
      if (c) {
        backoff.reset();
        auto slot = std::make_shared<Slot>();
        slot->conn = *c;
        slots.push_back(slot);
        open_count = slots.size();
        wake_waiters();
        if (closed) co_return Error(Errc::cancelled, "the client is closed");
        acquire_ns.record(ns_since(t0));
        co_return slot;
      }
      ++failures;
      last_connect_error = c.error();
      next_connect_at = Clock::now() + backoff.next_delay(rng);
      wake_waiters();
      if (!c.error().transient()) co_return c.error();  // wrong password, bad host: say so now
      continue;
    }
    if (now >= deadline)
      co_return Error(Errc::timeout,
                      "no connection to " + opts.connection.display() + " within " +
                          std::to_string(opts.acquire_timeout.count()) + " ms (acquire timeout; " +
                          std::to_string(slots.size()) + " open, max " +
                          std::to_string(opts.max_connections) + ")" +
                          (last_connect_error ? "; last error: " + last_connect_error.message() : ""));
    co_await park_until(std::min(deadline, std::max(next_connect_at, now + std::chrono::milliseconds(1))));
  }
}

asio::awaitable<Result<std::shared_ptr<net::Connection>>> Client::Impl::open_leased() {
  const auto deadline = Clock::now() + opts.acquire_timeout;
  for (;;) {
    if (closed) co_return Error(Errc::cancelled, "the client is closed");
    prune_dead();
    if (slots.size() + connecting + leased >= opts.max_connections && slots.size() > 1) {
      for (std::size_t i = 0; i < slots.size(); ++i)
        if (slots[i]->in_flight == 0) {
          slots[i]->conn->close();
          prune_dead();
          break;
        }
    }
    if (slots.size() + connecting + leased < opts.max_connections) {
      ++leased;
      auto c = co_await net::Connection::open(ex, opts.connection);
      ++connects;
      if (!c) {
        --leased;
        ++failures;
        wake_waiters();
        co_return c.error();
      }
      co_return *c;
    }
    if (Clock::now() >= deadline)
      co_return Error(Errc::timeout, "no connection to lease within " +
                                         std::to_string(opts.acquire_timeout.count()) + " ms: all " +
                                         std::to_string(opts.max_connections) +
                                         " connections (max_connections) are leased or busy");
    co_await park_until(deadline);
  }
}

void Client::Impl::end_lease(const std::shared_ptr<net::Connection>& c) {
  retire(c);
  --leased;
  wake_waiters();
}

bool Client::Impl::retryable(const Error& e) {
  return e.code() == Errc::connection_lost || e.code() == Errc::timeout ||
         e.code() == Errc::connection_refused;
}

asio::awaitable<Result<resp::Reply>> Client::Impl::run(const resp::Command& cmd, Cmd which, bool idempotent) {
  const auto t0 = Clock::now();  // two clock reads a command: they show in profiles
  Clock::time_point t1{};
  const int attempts = idempotent ? 1 + std::max(0, opts.read_retries) : 1;
  Result<resp::Reply> r = Error(Errc::cancelled, "not run");
  std::string wire;  // encoded once, reused by a retry
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto slot = co_await acquire(t0);
    if (!slot) {
      r = slot.error();
      break;
    }
    auto& s = **slot;
    if (s.in_flight++ == 0) ++busy_count;
    ++commands_sent;
    if (wire.empty()) cmd.append_to(wire);
    resp::Reply reply;
    auto keep = [](void* p, const resp::ReplyView& v) { *static_cast<resp::Reply*>(p) = resp::Reply(v); };
    Error e = co_await s.conn->exec_raw(wire, 1, net::ReplySink{&reply, keep});
    if (e)
      r = std::move(e);
    else if (reply.is_error())
      r = net::error_from_reply(reply.root(), "the server replied");
    else
      r = std::move(reply);
    if (--s.in_flight == 0) --busy_count;
    t1 = Clock::now();
    s.last_used = t1;
    if (r || !retryable(r.error()) || s.conn->is_open()) break;
    wake_waiters();  // that connection is gone: the next attempt gets another
  }
  auto& st = stats[which];
  st.calls.fetch_add(1, std::memory_order_relaxed);
  if (!r) st.errors.fetch_add(1, std::memory_order_relaxed);
  if (t1 == Clock::time_point{}) t1 = Clock::now();
  st.latency.record(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
  co_return r;
}

asio::awaitable<void> Client::Impl::health_loop(std::shared_ptr<Impl> self) {
  while (!self->closed) {
    self->health_timer.expires_after(self->opts.health_check_interval);
    co_await self->health_timer.async_wait(nothrow);
    if (self->closed) break;
    const auto now = Clock::now();
    self->prune_dead();
    for (std::size_t i = self->slots.size(); i-- > 0;) {
      auto s = self->slots[i];
      if (s->in_flight > 0 || now - s->last_used < self->opts.health_check_interval) continue;
      if (self->slots.size() > self->opts.min_connections && now - s->last_used >= self->opts.idle_timeout) {
        s->conn->close();  // idle beyond the minimum: counted as a normal close
        continue;
      }
      auto pong = co_await s->conn->exec(resp::Command("PING"));
      if (!pong) s->conn->close();
    }
    self->prune_dead();
  }
}

void Client::Impl::close_all() {
  closed = true;
  health_timer.cancel();
  wake_waiters();
  for (auto& s : slots) s->conn->close();
}

ClientMetricsSnapshot Client::Impl::snapshot() const {
  ClientMetricsSnapshot m;
  for (int i = 0; i < kCmdCount; ++i) {
    const auto calls = stats[static_cast<std::size_t>(i)].calls.load(std::memory_order_relaxed);
    if (calls == 0) continue;
    m.commands.push_back({kCmdNames[i], calls,
                          stats[static_cast<std::size_t>(i)].errors.load(std::memory_order_relaxed),
                          stats[static_cast<std::size_t>(i)].latency.snapshot()});
  }
  m.bytes_out = closed_bytes_out;
  m.bytes_in = closed_bytes_in;
  m.writes = closed_writes;
  for (const auto& s : slots) {  // REQUIRES: called on ex, or tolerate a racy read
    m.bytes_out += s->conn->bytes_written();
    m.bytes_in += s->conn->bytes_read();
    m.writes += s->conn->writes();
  }
  m.commands_sent = commands_sent;
  m.compression = codec.stats();
  m.pool.open = open_count;
  m.pool.in_use = busy_count;
  m.pool.idle = m.pool.open > m.pool.in_use ? m.pool.open - m.pool.in_use : 0;
  m.pool.waiters = waiters;
  m.pool.connects = connects;
  m.pool.failures = failures;
  m.pool.acquire_ns = acquire_ns.snapshot();
  return m;
}

namespace client_detail {

asio::awaitable<Result<resp::Reply>> run_here(std::shared_ptr<Client::Impl> impl, const resp::Command& cmd,
                                              int which, bool idempotent) {
  // (Written with a named result: GCC 12 miscompiles `co_return co_await f();` in a branch.)
  const bool here = (co_await asio::this_coro::executor) == impl->ex;
  Result<resp::Reply> r = Error(Errc::cancelled, "not run");
  if (here) {
    r = co_await impl->run(cmd, static_cast<Cmd>(which), idempotent);
  } else {
    r = co_await on_client(impl, impl->run(cmd, static_cast<Cmd>(which), idempotent));
  }
  co_return r;
}

}  // namespace client_detail
}  // namespace swarmkeeper
