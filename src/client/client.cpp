// client.cpp — the pool, routing, reconnects, health checks and metrics of Client (see
// swarmkeeper/client.hpp). Connections are net::Connection (their Multiplexer coalesces
// each connection's commands into one write); this file decides which connection a
// command goes to and when connections open, close and are replaced.
#include "swarmkeeper/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <deque>
#include <cctype>
#include <future>
#include <random>
#include <thread>

#include "client/on_executor.hpp"
#include "client/backoff.hpp"
#include "net/connection.hpp"

namespace swarmkeeper {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

enum Cmd { kGet, kSet, kDel, kUnlink, kMget, kMset, kExpire, kScan, kEval, kEvalsha, kPublish, kPing, kOther, kCmdCount };
constexpr const char* kCmdNames[kCmdCount] = {"GET",  "SET",  "DEL",     "UNLINK",  "MGET", "MSET", "EXPIRE",
                                              "SCAN", "EVAL", "EVALSHA", "PUBLISH", "PING", "OTHER"};

struct CommandStats {
  std::atomic<std::uint64_t> calls{0}, errors{0};
  metrics::Histogram latency;
};

std::uint64_t ns_since(Clock::time_point t) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count());
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Impl> {
  struct Slot {
    std::shared_ptr<net::Connection> conn;
    std::size_t in_flight = 0;
    Clock::time_point last_used = Clock::now();
  };

  Impl(asio::any_io_executor executor, ClientOptions o)
      : ex(std::move(executor)), opts(std::move(o)), codec(opts.compression_options),
        backoff({opts.reconnect_initial, opts.reconnect_max}), rng(std::random_device{}()),
        health_timer(ex) {
    if (opts.max_connections == 0) opts.max_connections = 1;
  }

  asio::any_io_executor ex;
  ClientOptions opts;
  ValueCodec codec;
  // Pool state; touched only on ex (the client's single-threaded executor).
  std::vector<std::shared_ptr<Slot>> slots;
  std::size_t connecting = 0, waiters = 0, leased = 0;
  client::Backoff backoff;
  std::mt19937 rng;
  Clock::time_point next_connect_at{};
  Error last_connect_error;
  std::vector<asio::steady_timer*> waiting;  // callers parked in acquire(), each on its own timer
  asio::steady_timer health_timer;
  bool closed = false;
  // Metrics; atomics, read from any thread.
  std::array<CommandStats, kCmdCount> stats;
  metrics::Histogram acquire_ns;
  std::atomic<std::uint64_t> connects{0}, failures{0}, commands_sent{0};
  std::atomic<std::uint64_t> closed_bytes_out{0}, closed_bytes_in{0}, closed_writes{0};
  std::atomic<std::uint64_t> open_count{0}, busy_count{0};

  void wake_waiters() {
    for (auto* t : waiting) t->cancel();
  }

  // Waits until `until` or until the pool changes (wake_waiters), whichever comes first.
  asio::awaitable<void> park_until(Clock::time_point until) {
    asio::steady_timer wait(ex, until);
    ++waiters;
    waiting.push_back(&wait);
    co_await wait.async_wait(nothrow);
    std::erase(waiting, &wait);
    --waiters;
  }

  // Sends `count` encoded commands in one payload on a pooled connection; returns their
  // replies in order (error replies included).
  asio::awaitable<Result<std::vector<resp::Reply>>> exec_many(std::string payload, std::size_t count) {
    auto slot = co_await acquire();
    if (!slot) co_return slot.error();
    std::vector<resp::Reply> replies;
    replies.reserve(count);
    auto keep = [](void* ctx, const resp::ReplyView& v) { static_cast<std::vector<resp::Reply>*>(ctx)->emplace_back(v); };
    ++(*slot)->in_flight;
    commands_sent += count;
    Error e = co_await (*slot)->conn->exec_raw(payload, count, net::ReplySink{&replies, keep});
    --(*slot)->in_flight;
    if (e) co_return e;
    co_return replies;
  }

  // Closes a connection leaving the client, keeping its byte and write counts in the totals.
  void retire(const std::shared_ptr<net::Connection>& c) {
    closed_bytes_out += c->bytes_written();
    closed_bytes_in += c->bytes_read();
    closed_writes += c->writes();
    c->close();
  }

  void drop(std::size_t i) {
    const auto& c = slots[i]->conn;
    if (c->failure().code() != Errc::cancelled) ++failures;
    retire(c);
    slots.erase(slots.begin() + static_cast<std::ptrdiff_t>(i));
    open_count = slots.size();
  }

  void prune_dead() {
    for (std::size_t i = slots.size(); i-- > 0;)
      if (!slots[i]->conn->is_open()) drop(i);
  }

  // A connection for one command: the least loaded open one; a new one when all are busy
  // (up to max); waits (up to acquire_timeout) while none can be had.
  asio::awaitable<Result<std::shared_ptr<Slot>>> acquire() {
    const auto t0 = Clock::now();
    const auto deadline = t0 + opts.acquire_timeout;
    for (;;) {
      if (closed) co_return Error(Errc::cancelled, "the client is closed");
      prune_dead();
      std::shared_ptr<Slot> best;
      for (const auto& s : slots)
        if (!best || s->in_flight < best->in_flight) best = s;
      const bool can_open = slots.size() + connecting + leased < opts.max_connections;
      if (best && (best->in_flight < opts.pipeline_batch || !can_open || connecting > 0)) {
        acquire_ns.record(ns_since(t0));
        co_return best;
      }
      const auto now = Clock::now();
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
        co_return Error(Errc::timeout, "no connection to " + opts.connection.display() + " within " +
                                           std::to_string(opts.acquire_timeout.count()) + " ms (acquire timeout; " +
                                           std::to_string(slots.size()) + " open, max " +
                                           std::to_string(opts.max_connections) + ")" +
                                           (last_connect_error ? "; last error: " + last_connect_error.message() : ""));
      co_await park_until(std::min(deadline, std::max(next_connect_at, now + std::chrono::milliseconds(1))));
    }
  }

  // A dedicated connection: room permitting (an idle shared connection gives way when
  // the pool is full), else wait for a lease to end, up to acquire_timeout.
  asio::awaitable<Result<std::shared_ptr<net::Connection>>> open_leased() {
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
        co_return Error(Errc::timeout, "no connection to lease within " + std::to_string(opts.acquire_timeout.count()) +
                                           " ms: all " + std::to_string(opts.max_connections) +
                                           " connections (max_connections) are leased or busy");
      co_await park_until(deadline);
    }
  }

  void end_lease(const std::shared_ptr<net::Connection>& c) {
    retire(c);
    --leased;
    wake_waiters();
  }

  static bool retryable(const Error& e) {
    return e.code() == Errc::connection_lost || e.code() == Errc::timeout || e.code() == Errc::connection_refused;
  }

  // Runs one command on a pooled connection, with metrics and (for reads) a retry.
  asio::awaitable<Result<resp::Reply>> run(const resp::Command& cmd, Cmd which, bool idempotent) {
    const auto t0 = Clock::now();
    const int attempts = idempotent ? 1 + std::max(0, opts.read_retries) : 1;
    Result<resp::Reply> r = Error(Errc::cancelled, "not run");
    std::string wire;  // encoded once, reused by a retry
    for (int attempt = 0; attempt < attempts; ++attempt) {
      auto slot = co_await acquire();
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
      s.last_used = Clock::now();
      if (r || !retryable(r.error()) || s.conn->is_open()) break;
      wake_waiters();  // that connection is gone: the next attempt gets another
    }
    auto& st = stats[which];
    st.calls.fetch_add(1, std::memory_order_relaxed);
    if (!r) st.errors.fetch_add(1, std::memory_order_relaxed);
    st.latency.record(ns_since(t0));
    co_return r;
  }

  // PINGs idle connections, replaces failed ones, closes idle ones above the minimum.
  static asio::awaitable<void> health_loop(std::shared_ptr<Impl> self) {
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

  void close_all() {
    closed = true;
    health_timer.cancel();
    wake_waiters();
    for (auto& s : slots) s->conn->close();
  }

  ClientMetricsSnapshot snapshot() const {
    ClientMetricsSnapshot m;
    for (int i = 0; i < kCmdCount; ++i) {
      const auto calls = stats[static_cast<std::size_t>(i)].calls.load(std::memory_order_relaxed);
      if (calls == 0) continue;
      m.commands.push_back({kCmdNames[i], calls, stats[static_cast<std::size_t>(i)].errors.load(std::memory_order_relaxed),
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
};

namespace {

// Runs body on the client's executor (over and back when the caller is elsewhere).
template <class T>
asio::awaitable<T> on_client(std::shared_ptr<Client::Impl> impl, asio::awaitable<T> body) {
  return client_detail::on_executor(impl->ex, std::move(body));
}

// Runs one command on the client's executor: directly when the caller runs there (the
// fast path: no extra coroutine frame), else through on_client.
asio::awaitable<Result<resp::Reply>> run_here(std::shared_ptr<Client::Impl> impl, const resp::Command& cmd, int which,
                                              bool idempotent) {
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

Error unexpected(std::string_view what, const resp::Reply& r) {
  return Error(Errc::unexpected_reply, std::string(what) + " returned " + resp::to_string(r.root()).substr(0, 120));
}

}  // namespace

Client::Client(asio::any_io_executor ex, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {
  asio::co_spawn(impl_->ex, Impl::health_loop(impl_), asio::detached);
}

Client::~Client() { close(); }
asio::any_io_executor Client::executor() const { return impl_->ex; }
const ClientOptions& Client::options() const noexcept { return impl_->opts; }

void Client::close() {
  auto impl = impl_;
  asio::dispatch(impl->ex, [impl] { impl->close_all(); });
}

ClientMetricsSnapshot Client::metrics() const { return impl_->snapshot(); }

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

// Commands that may block the connection they run on.
bool is_blocking(const resp::Command& cmd) {
  const std::string_view name = cmd.name();
  for (std::string_view b : {"BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT", "WAITAOF"})
    if (iequals(name, b)) return true;
  if (iequals(name, "XREAD") || iequals(name, "XREADGROUP"))
    for (std::size_t i = 1; i < cmd.argc(); ++i)
      if (iequals(cmd.arg_at(i), "BLOCK")) return true;
  return false;
}

}  // namespace

asio::awaitable<Result<resp::Reply>> Client::command(resp::Command cmd, bool idempotent) {
  auto impl = impl_;
  if (is_blocking(cmd)) {
    auto lease = co_await this->lease();
    if (!lease) co_return lease.error();
    auto r = co_await lease->exec(std::move(cmd));
    co_return r;
  }
  auto r = co_await run_here(impl, cmd, kOther, idempotent);
  co_return r;
}

asio::awaitable<Result<std::vector<resp::Reply>>> Client::pipeline(resp::Pipeline commands) {
  auto impl = impl_;
  const std::size_t n = commands.size();
  auto r = co_await on_client(impl, impl->exec_many(commands.buffer(), n));
  co_return r;
}

asio::awaitable<Result<resp::Reply>> Client::transaction(resp::Pipeline commands) {
  // One payload: a connection writes a payload whole, so no other caller's command can
  // land between MULTI and EXEC.
  std::string wire = resp::Command("MULTI").encoded() + commands.buffer() + resp::Command("EXEC").encoded();
  const std::size_t n = commands.size() + 2;
  auto impl = impl_;
  auto replies = co_await on_client(impl, impl->exec_many(std::move(wire), n));
  if (!replies) co_return replies.error();
  for (std::size_t i = 0; i + 1 < replies->size(); ++i)
    if ((*replies)[i].is_error()) co_return net::error_from_reply((*replies)[i].root(), "transaction command " + std::to_string(i));
  resp::Reply& result = replies->back();
  if (result.is_error()) co_return net::error_from_reply(result.root(), "EXEC");
  if (result.is_null()) co_return Error(Errc::server_error, "the transaction was aborted (a WATCHed key changed)");
  co_return std::move(result);
}

Client::Lease::Lease(std::shared_ptr<Impl> impl, std::shared_ptr<net::Connection> conn)
    : impl_(std::move(impl)), conn_(std::move(conn)) {}

Client::Lease::~Lease() {
  if (!impl_ || !conn_) return;
  asio::dispatch(impl_->ex, [impl = impl_, conn = conn_] { impl->end_lease(conn); });
}

asio::awaitable<Result<resp::Reply>> Client::Lease::exec(resp::Command cmd) {
  auto r = co_await conn_->exec(cmd);
  co_return r;
}

struct Client::Subscription::State {
  explicit State(const asio::any_io_executor& ex) : wake(ex) {}
  std::deque<Message> queue;
  std::size_t confirmed = 0;
  asio::steady_timer wake;
};

Client::Subscription::Subscription(std::shared_ptr<Impl> impl, std::shared_ptr<net::Connection> conn,
                                   std::shared_ptr<State> state)
    : impl_(std::move(impl)), conn_(std::move(conn)), state_(std::move(state)) {}

Client::Subscription::~Subscription() {
  if (!impl_ || !conn_) return;
  asio::dispatch(impl_->ex, [impl = impl_, conn = conn_] { impl->end_lease(conn); });
}

asio::awaitable<Result<Client::Message>> Client::Subscription::next() {
  for (;;) {
    if (!state_->queue.empty()) {
      Message m = std::move(state_->queue.front());
      state_->queue.pop_front();
      co_return m;
    }
    if (!conn_->is_open()) co_return conn_->failure();
    state_->wake.expires_after(std::chrono::seconds(1));  // also re-checks the connection
    co_await state_->wake.async_wait(nothrow);
  }
}

asio::awaitable<Result<Client::Subscription>> Client::subscribe(std::vector<std::string> channels) {
  auto impl = impl_;
  auto c = co_await on_client(impl, impl->open_leased());
  if (!c) co_return c.error();
  auto conn = std::move(*c);
  Subscription sub(impl, conn, std::make_shared<Subscription::State>(impl->ex));
  if (conn->protocol() != 3)
    co_return Error(Errc::invalid_argument, "subscribing needs RESP3 (HELLO 3); this server or configuration speaks RESP2");
  std::weak_ptr<Subscription::State> weak = sub.state_;
  conn->on_push([weak](const resp::ReplyView& v) {
    auto st = weak.lock();
    const resp::ReplyRef r = v.root();
    if (!st || r.size() < 3) return;
    const std::string_view kind = r[0].str();
    if (kind == "message") {
      st->queue.push_back({std::string(r[1].str()), std::string(r[2].str())});
    } else if (kind == "pmessage" && r.size() >= 4) {
      st->queue.push_back({std::string(r[2].str()), std::string(r[3].str())});
    } else if (kind == "subscribe" || kind == "psubscribe") {
      ++st->confirmed;
    }
    st->wake.cancel();
  });
  const std::string wire = resp::Command("SUBSCRIBE").args(channels).encoded();
  if (Error e = co_await conn->exec_raw(wire, 0, net::ReplySink{}); e) co_return e;
  const auto deadline = Clock::now() + impl->opts.connection.command_timeout;
  while (sub.state_->confirmed < channels.size()) {
    if (!conn->is_open()) co_return conn->failure();
    if (Clock::now() >= deadline) co_return Error(Errc::timeout, "SUBSCRIBE was not confirmed in time");
    sub.state_->wake.expires_after(std::chrono::milliseconds(100));
    co_await sub.state_->wake.async_wait(nothrow);
  }
  co_return std::move(sub);
}

asio::awaitable<Result<Client::Lease>> Client::lease() {
  auto impl = impl_;
  auto c = co_await on_client(impl, impl->open_leased());
  if (!c) co_return c.error();
  co_return Lease(impl, std::move(*c));
}

asio::awaitable<Result<Client::Value>> Client::get(std::string key) {
  auto impl = impl_;
  auto r = co_await run_here(impl, resp::Command("GET").arg(key), kGet, true);
  if (!r) co_return r.error();
  if (r->is_null()) co_return Value{};
  auto v = impl->opts.compression ? impl->codec.decode(r->str()) : Result<std::string>(std::string(r->str()));
  if (!v) co_return v.error();
  co_return Value{std::move(*v)};
}

asio::awaitable<Result<void>> Client::set(std::string key, std::string value, std::chrono::milliseconds ttl) {
  auto impl = impl_;
  resp::Command c("SET");
  c.arg(key).arg(impl->opts.compression ? impl->codec.encode(value) : value);
  if (ttl.count() > 0) c.arg("PX").arg(ttl.count());
  auto r = co_await run_here(impl, c, kSet, false);
  if (!r) co_return r.error();
  co_return Result<void>();
}

asio::awaitable<Result<std::int64_t>> Client::del(std::vector<std::string> keys) {
  auto impl = impl_;
  auto r = co_await run_here(impl, resp::Command("DEL").args(keys), kDel, false);
  if (!r) co_return r.error();
  co_return r->integer();
}

asio::awaitable<Result<std::int64_t>> Client::unlink(std::vector<std::string> keys) {
  auto impl = impl_;
  auto r = co_await run_here(impl, resp::Command("UNLINK").args(keys), kUnlink, false);
  if (!r) co_return r.error();
  co_return r->integer();
}

asio::awaitable<Result<std::vector<Client::Value>>> Client::mget(std::vector<std::string> keys) {
  auto impl = impl_;
  auto r = co_await run_here(impl, resp::Command("MGET").args(keys), kMget, true);
  if (!r) co_return r.error();
  if (r->type() != resp::Type::array) co_return unexpected("MGET", *r);
  std::vector<Value> out;
  out.reserve(r->size());
  for (resp::ReplyRef v : r->root()) {
    if (v.is_null()) {
      out.emplace_back();
      continue;
    }
    auto d = impl->opts.compression ? impl->codec.decode(v.str()) : Result<std::string>(std::string(v.str()));
    if (!d) co_return d.error();
    out.emplace_back(std::move(*d));
  }
  co_return out;
}

asio::awaitable<Result<void>> Client::mset(std::vector<std::pair<std::string, std::string>> pairs) {
  auto impl = impl_;
  resp::Command c("MSET");
  for (auto& [k, v] : pairs) c.arg(k).arg(impl->opts.compression ? impl->codec.encode(v) : v);
  auto r = co_await run_here(impl, c, kMset, false);
  if (!r) co_return r.error();
  co_return Result<void>();
}

asio::awaitable<Result<bool>> Client::expire(std::string key, std::chrono::seconds ttl) {
  auto impl = impl_;
  auto r = co_await run_here(impl, resp::Command("EXPIRE").arg(key).arg(ttl.count()), kExpire, false);
  if (!r) co_return r.error();
  co_return r->integer() == 1;
}

asio::awaitable<Result<std::pair<std::string, std::vector<std::string>>>> Client::scan(std::string cursor, std::string match,
                                                                                       std::size_t count) {
  auto impl = impl_;
  resp::Command c("SCAN");
  c.arg(cursor);
  if (!match.empty()) c.arg("MATCH").arg(match);
  c.arg("COUNT").arg(count);
  auto r = co_await run_here(impl, c, kScan, true);
  if (!r) co_return r.error();
  if (r->size() != 2) co_return unexpected("SCAN", *r);
  std::vector<std::string> keys;
  for (resp::ReplyRef k : (*r)[1]) keys.emplace_back(k.str());
  co_return std::pair{std::string((*r)[0].str()), std::move(keys)};
}

asio::awaitable<Result<resp::Reply>> Client::eval(std::string script, std::vector<std::string> keys,
                                                  std::vector<std::string> args) {
  auto impl = impl_;
  co_return co_await run_here(impl, resp::Command("EVAL").arg(script).arg(keys.size()).args(keys).args(args), kEval, false);
}

asio::awaitable<Result<resp::Reply>> Client::evalsha(std::string sha, std::vector<std::string> keys,
                                                     std::vector<std::string> args) {
  auto impl = impl_;
  co_return co_await run_here(impl, resp::Command("EVALSHA").arg(sha).arg(keys.size()).args(keys).args(args), kEvalsha, false);
}

asio::awaitable<Result<std::int64_t>> Client::publish(std::string channel, std::string message) {
  auto impl = impl_;
  auto r = co_await run_here(impl, resp::Command("PUBLISH").arg(channel).arg(message), kPublish, false);
  if (!r) co_return r.error();
  co_return r->integer();
}

// --- SyncClient ---------------------------------------------------------------------

struct SyncClient::State {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<Client> client;
  std::thread thread;

  // Starts aw on the I/O thread; the future holds its result.
  template <class T>
  std::future<T> start(asio::awaitable<T> aw) {
    auto promise = std::make_shared<std::promise<T>>();
    auto fut = promise->get_future();
    asio::co_spawn(io, [promise, aw = std::move(aw)]() mutable -> asio::awaitable<void> {
      promise->set_value(co_await std::move(aw));
    }, [promise](std::exception_ptr e) {
      if (e) promise->set_exception(e);
    });
    return fut;
  }
  template <class T>
  T call(asio::awaitable<T> aw) {
    return start(std::move(aw)).get();
  }
};

SyncClient::SyncClient(ClientOptions options) : s_(std::make_unique<State>()) {
  s_->client = std::make_unique<Client>(s_->io.get_executor(), std::move(options));
  s_->thread = std::thread([s = s_.get()] { s->io.run(); });
}

SyncClient::~SyncClient() {
  s_->client->close();
  s_->work.reset();
  asio::post(s_->io, [s = s_.get()] { s->client.reset(); });
  s_->thread.join();
}

Result<Client::Value> SyncClient::get(const std::string& key) { return s_->call(s_->client->get(key)); }
Result<void> SyncClient::set(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) {
  return s_->call(s_->client->set(key, value, ttl));
}
Result<resp::Reply> SyncClient::command(const resp::Command& cmd, bool idempotent) {
  return s_->call(s_->client->command(cmd, idempotent));
}
std::future<Result<resp::Reply>> SyncClient::command_async(resp::Command cmd, bool idempotent) {
  return s_->start(s_->client->command(std::move(cmd), idempotent));
}
Client& SyncClient::async() noexcept { return *s_->client; }
ClientMetricsSnapshot SyncClient::metrics() const {
  std::promise<ClientMetricsSnapshot> p;
  asio::post(s_->io, [&] { p.set_value(s_->client->metrics()); });  // the pool is read on its thread
  return p.get_future().get();
}

}  // namespace swarmkeeper
