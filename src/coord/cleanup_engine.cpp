// cleanup_engine.cpp — the cleanup run (contract and guarantees: swarmkeeper/cleanup.hpp).
//
// The run, on one pipelined connection:
//   0. Lock (SET NX PX + token, renewed every ttl/3), server TIME, DBSIZE, INFO cpu; in
//      script mode SCRIPT LOAD (refused: fall back to stream mode, noted).
//   1. One SCAN over the keyspace (MATCH the schema's common prefix, if any), page by
//      page, the next page requested while this one is processed:
//      - heartbeat keys: MGET per page; the coordinator table records each one's state
//        (active / stale / invalid). Client memory: one entry per coordinator.
//      - family keys: their candidate owners come from the key's structure. A key that
//        the table already shows belongs to a living coordinator (or to two, for an
//        id_prefix family: ambiguous) is kept at once. The rest go into delete batches,
//        flushed as soon as full, up to max_in_flight in flight.
//   2. The heartbeats of stale coordinators, in batches, last of all: a run cut short
//      leaves every remaining key attributable, so the next run finishes the job.
//   3. Audit (XADD to the capped stream swarmkeeper:reaped), INFO cpu, unlock.
//
// Flushing a batch settles ownership and staleness at delete time from the server's own
// heartbeats (delete_batch.hpp has the rules): in script mode one EVALSHA reads them and
// UNLINKs in the same atomic step; in stream mode an MGET reads them and the UNLINK that
// follows removes only keys whose owners were all read as stale.
//
// Why it is safe: nothing is unlinked unless its owners' heartbeats were read as stale
// at delete time, and keeping is always safe. Why it is bounded: every call covers one
// SCAN page or one batch. Why memory follows coordinators: pages and batches are
// released once flushed; only the table outlives them.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unistd.h>

#include <charconv>
#include <random>

#include "coord/coordinator_table.hpp"
#include "coord/delete_batch.hpp"
#include "coord/in_flight.hpp"
#include "coord/scripts.hpp"
#include "coord/server_info.hpp"
#include "net/connection.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/cleanup.hpp"

namespace swarmkeeper::coord {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kAuditMax = 10000;
constexpr const char* kLockKey = "swarmkeeper:cleanup:lock";
constexpr const char* kAuditKey = "swarmkeeper:reaped";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::string make_token() {
  std::random_device rd;
  char host[64] = "host";
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(rd()) + std::to_string(rd());
}

class Engine {
 public:
  Engine(asio::io_context& io, ConnectionOptions c, CleanupOptions o)
      : io_(io), copts_(std::move(c)), opts_(std::move(o)), slots_(io.get_executor(), opts_.max_in_flight),
        renewer_(io.get_executor(), 1), renew_timer_(io.get_executor()), pace_timer_(io.get_executor()) {}

  asio::awaitable<Result<CleanupReport>> run();
  /// Stops whatever still runs (lock renewal, the connection), on any path out of run().
  void shutdown() {
    done_ = true;
    renew_timer_.cancel();
    pace_timer_.cancel();
    if (conn_) conn_->close();
  }

 private:
  const KeySchema& schema() const { return opts_.schema; }
  std::int64_t server_now_ms() const {
    return start_server_ms_ + static_cast<std::int64_t>(ms_since(start_));
  }
  bool stale_at(std::int64_t ts, std::int64_t now) const { return now - ts > threshold_ms_; }
  void fail(const Error& e, std::string_view during) {
    if (!failed_) rep_.errors.push_back(std::string(during) + ": " + e.message());
    failed_ = true;
  }

  asio::awaitable<Result<resp::Reply>> exec(const resp::Command& c) { return conn_->exec(c); }
  asio::awaitable<double> info_cpu();
  asio::awaitable<Result<bool>> acquire_lock();
  asio::awaitable<void> renew_loop();
  asio::awaitable<void> release_lock();
  asio::awaitable<void> prepare_script();
  asio::awaitable<void> check_orphan_policy();
  template <class OnKey>
  asio::awaitable<Error> scan_page(std::string& cursor, const std::string& match, std::size_t count, OnKey& on_key);
  asio::awaitable<void> load_heartbeats(std::shared_ptr<std::vector<std::string>> keys);
  asio::awaitable<void> scan_keys();
  void classify(std::string_view key);
  void queue(std::string_view key, OwnerRule rule, std::span<const std::string_view> candidates);
  asio::awaitable<void> flush_ready();
  asio::awaitable<void> delete_stale_heartbeats();
  asio::awaitable<void> flush(std::unique_ptr<DeleteBatch> batch, bool heartbeats);
  asio::awaitable<void> flush_stream(DeleteBatch& batch, bool heartbeats);
  asio::awaitable<Result<bool>> flush_script(DeleteBatch& batch, bool heartbeats);
  asio::awaitable<void> flush_orphans(std::unique_ptr<OrphanBatch> batch);
  Candidate candidate_state(resp::ReplyRef heartbeat, std::int64_t now) const;
  void settle(const DeleteBatch& b, const std::vector<Candidate>& status, std::uint64_t unlinked, bool heartbeats);
  asio::awaitable<void> write_audit();
  asio::awaitable<void> pace_and_report(const char* phase);

  asio::io_context& io_;
  ConnectionOptions copts_;
  CleanupOptions opts_;
  std::shared_ptr<net::Connection> conn_;
  CoordinatorTable table_;
  CleanupReport rep_;
  InFlight slots_;    // delete batches and MGET pages in flight
  InFlight renewer_;  // the lock renewal loop, while it runs
  asio::steady_timer renew_timer_, pace_timer_;
  Clock::time_point start_ = Clock::now(), last_progress_ = Clock::now(), last_pace_ = Clock::now();
  std::int64_t start_server_ms_ = 0, threshold_ms_ = 0;
  std::uint64_t dbsize_ = 0, stale_seen_ = 0;
  double cpu_start_ = 0;
  std::string token_, sha_;
  bool use_script_ = false, done_ = false, failed_ = false, orphans_ = false;
  // Phase 2 state.
  std::unique_ptr<DeleteBatch> batch_ = std::make_unique<DeleteBatch>();
  std::vector<std::unique_ptr<DeleteBatch>> ready_;
  Attribution attr_;  // reused by classify()
  std::unique_ptr<OrphanBatch> orphan_batch_ = std::make_unique<OrphanBatch>();
  std::vector<std::unique_ptr<OrphanBatch>> orphans_ready_;
};

asio::awaitable<double> Engine::info_cpu() {
  auto r = co_await exec(resp::Command("INFO").arg("cpu"));
  co_return r ? info_cpu_seconds(r->str()) : 0.0;
}

asio::awaitable<Result<bool>> Engine::acquire_lock() {
  token_ = make_token();
  for (;;) {
    auto r = co_await exec(resp::Command("SET").arg(kLockKey).arg(token_).arg("NX").arg("PX").arg(opts_.lock_ttl.count()));
    if (!r) co_return r.error();
    if (!r->is_null()) co_return true;
    if (!opts_.wait_for_lock) co_return false;
    pace_timer_.expires_after(std::chrono::milliseconds(500));
    co_await pace_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> Engine::renew_loop() {
  co_await renewer_.acquire();
  while (!done_) {
    renew_timer_.expires_after(opts_.lock_ttl / 3);
    co_await renew_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (done_) break;
    auto r = co_await exec(resp::Command("EVAL").arg(kRenewLockScript).arg(1).arg(kLockKey).arg(token_).arg(opts_.lock_ttl.count()));
    if (!r && r.error().code() != Errc::no_permission && r.error().code() != Errc::server_error) break;
    if (!r) {  // scripts refused: compare, then extend (a tiny race, noted in the README)
      auto holder = co_await exec(resp::Command("GET").arg(kLockKey));
      if (holder && holder->str() == token_)
        (void)co_await exec(resp::Command("PEXPIRE").arg(kLockKey).arg(opts_.lock_ttl.count()));
      else
        rep_.notes.push_back("the cleanup lock expired during the run; another cleanup may have started (both stay safe)");
    } else if (r->integer() == 0) {
      rep_.notes.push_back("the cleanup lock expired during the run; another cleanup may have started (both stay safe)");
    }
  }
  renewer_.release();
}

asio::awaitable<void> Engine::release_lock() {
  auto r = co_await exec(resp::Command("EVAL").arg(kReleaseLockScript).arg(1).arg(kLockKey).arg(token_));
  if (!r && conn_->is_open()) {
    auto holder = co_await exec(resp::Command("GET").arg(kLockKey));
    if (holder && holder->str() == token_) (void)co_await exec(resp::Command("DEL").arg(kLockKey));
  }
}

asio::awaitable<void> Engine::prepare_script() {
  use_script_ = false;
  if (opts_.mode != CleanupMode::script || opts_.dry_run) co_return;
  auto r = co_await exec(resp::Command("SCRIPT").arg("LOAD").arg(kDeleteBatchScript));
  if (r) {
    sha_ = std::string(r->str());
    use_script_ = true;
  } else {
    rep_.notes.push_back("the server refused scripts (" + r.error().message() +
                        "); fell back to stream mode: heartbeats are re-read right before each UNLINK");
  }
}

asio::awaitable<void> Engine::check_orphan_policy() {
  orphans_ = opts_.orphans;
  if (!orphans_) co_return;
  auto r = co_await exec(resp::Command("CONFIG").arg("GET").arg("maxmemory-policy"));
  if (r && r->size() == 2 && (*r)[1].str().find("lfu") != std::string_view::npos) {
    orphans_ = false;
    rep_.notes.push_back("orphans skipped: maxmemory-policy " + std::string((*r)[1].str()) +
                        " does not track idle time (OBJECT IDLETIME), so an orphan's age cannot be known");
  }
}

template <class OnKey>
asio::awaitable<Error> Engine::scan_page(std::string& cursor, const std::string& match, std::size_t count, OnKey& on_key) {
  resp::Command c("SCAN");
  c.arg(cursor);
  if (!match.empty()) c.arg("MATCH").arg(match);
  c.arg("COUNT").arg(count);
  const std::string wire = c.encoded();
  struct Ctx {
    std::string* cursor;
    OnKey* on_key;
    Error error;
  } ctx{&cursor, &on_key, {}};
  auto sink = +[](void* p, const resp::ReplyView& v) {
    auto* ctx = static_cast<Ctx*>(p);
    const resp::ReplyRef r = v.root();
    if (r.is_error()) {
      ctx->error = net::error_from_reply(r, "SCAN");
      return;
    }
    if (r.size() != 2 || !r[1].is_aggregate()) {
      ctx->error = Error(Errc::unexpected_reply, "SCAN returned " + resp::to_string(r).substr(0, 80));
      return;
    }
    ctx->cursor->assign(r[0].str());
    for (resp::ReplyRef key : r[1]) (*ctx->on_key)(key.str());
  };
  Error e = co_await conn_->exec_raw(wire, 1, net::ReplySink{&ctx, sink});
  co_return e ? e : ctx.error;
}

asio::awaitable<void> Engine::load_heartbeats(std::shared_ptr<std::vector<std::string>> keys) {
  resp::Command mget("MGET");
  mget.args(*keys);
  const std::string wire = mget.encoded();
  struct Ctx {
    Engine* self;
    std::vector<std::string>* keys;
    std::int64_t now;
  } ctx{this, keys.get(), server_now_ms()};
  auto sink = +[](void* p, const resp::ReplyView& v) {
    auto* c = static_cast<Ctx*>(p);
    const resp::ReplyRef r = v.root();
    if (!r.is_aggregate()) return;
    std::size_t i = 0;
    for (resp::ReplyRef value : r) {
      const std::string_view key = (*c->keys)[i++];
      if (value.is_null()) continue;  // gone since the SCAN: nothing to decide
      const std::string_view id = key.substr(c->self->schema().heartbeat_prefix.size());
      const auto ts = parse_heartbeat(value.str(), c->self->schema());
      const CoordState state = !ts ? CoordState::invalid
                               : c->self->stale_at(*ts, c->now) ? CoordState::stale
                                                                : CoordState::active;
      const auto before = c->self->table_.size();
      c->self->table_.add(id, ts.value_or(0), state);
      if (state == CoordState::stale && c->self->table_.size() > before) ++c->self->stale_seen_;
    }
  };
  if (Error e = co_await conn_->exec_raw(wire, 1, net::ReplySink{&ctx, sink})) fail(e, "reading heartbeats");
  slots_.release();
}

void Engine::queue(std::string_view key, OwnerRule rule, std::span<const std::string_view> candidates) {
  batch_->add(key, rule, candidates);
  if (batch_->size() >= opts_.batch_keys) {
    ready_.push_back(std::move(batch_));
    batch_ = std::make_unique<DeleteBatch>();
  }
}

// Sends every full batch (waiting for a slot for each) and the full orphan batches.
asio::awaitable<void> Engine::flush_ready() {
  auto batches = std::move(ready_);
  ready_.clear();
  for (auto& b : batches) {
    co_await slots_.acquire();
    asio::co_spawn(io_, flush(std::move(b), false), asio::detached);
  }
  auto orphans = std::move(orphans_ready_);
  orphans_ready_.clear();
  for (auto& b : orphans) {
    co_await slots_.acquire();
    asio::co_spawn(io_, flush_orphans(std::move(b)), asio::detached);
  }
}

// One key of the scan: heartbeats are collected for the page's MGET by the caller;
// family keys are kept at once when the table already shows a living owner (keeping is
// always safe), else queued for the delete-time decision.
void Engine::classify(std::string_view key) {
  const KeyFamily* family = schema().family_of(key);
  if (family == nullptr) return;  // not ours
  // In real runs, exact-name keys go with their coordinator's heartbeat in the last
  // pass (one re-check for all of them), so the scan need not queue them; dry runs and
  // --orphans examine them key by key.
  if (family->match == KeyFamily::Match::exact && !opts_.dry_run && !orphans_) return;
  resolve(key, *family, table_, attr_);
  if (attr_.kind == Attribution::Kind::ambiguous) {
    ++rep_.keys_kept_ambiguous;
    return;
  }
  for (std::uint32_t o : attr_.owners)
    if (table_[o].state != CoordState::stale) return;  // belongs (also) to the living
  const OwnerRule rule = family->match == KeyFamily::Match::exact       ? OwnerRule::single
                         : family->match == KeyFamily::Match::id_prefix ? OwnerRule::one_owner
                                                                        : OwnerRule::all_owners;
  queue(key, rule, attr_.candidates);
}

asio::awaitable<void> Engine::scan_keys() {
  const std::string prefix = schema().common_prefix();
  const std::string match = prefix.empty() ? "" : glob_escape(prefix) + "*";
  std::string cursor = "0";
  std::shared_ptr<std::vector<std::string>> heartbeats;
  auto on_key = [&](std::string_view key) {
    ++rep_.keys_scanned;
    if (schema().heartbeat_id(key))
      heartbeats->emplace_back(key);
    else
      classify(key);
  };
  for (;;) {
    heartbeats = std::make_shared<std::vector<std::string>>();
    if (Error e = co_await scan_page(cursor, match, opts_.scan_count, on_key)) {
      fail(e, "scanning keys");
      break;
    }
    if (!heartbeats->empty()) {
      co_await slots_.acquire();
      asio::co_spawn(io_, load_heartbeats(std::move(heartbeats)), asio::detached);
    }
    const bool last = cursor == "0";
    if (last && !batch_->empty()) ready_.push_back(std::move(batch_));
    if (last && orphan_batch_->size() > 0) orphans_ready_.push_back(std::move(orphan_batch_));
    co_await flush_ready();
    co_await pace_and_report("delete");
    if (last || failed_) break;
  }
  co_await slots_.drain();
  // The last flushes may have found orphans: send them too.
  if (orphan_batch_->size() > 0) orphans_ready_.push_back(std::move(orphan_batch_));
  orphan_batch_ = std::make_unique<OrphanBatch>();
  batch_ = std::make_unique<DeleteBatch>();
  if (!orphans_ready_.empty() && !failed_) co_await flush_ready();
  co_await slots_.drain();
}

// Last: the stale coordinators' heartbeats (with their exact-name keys in real runs),
// each coordinator re-checked once at delete time. A run cut short before this point
// leaves every remaining key attributable to its heartbeat.
asio::awaitable<void> Engine::delete_stale_heartbeats() {
  if (failed_) co_return;
  auto batch = std::make_unique<DeleteBatch>();
  for (std::uint32_t i = 0; i < table_.size(); ++i) {
    const Coordinator& c = table_[i];
    if (c.state != CoordState::stale) continue;
    const std::string_view id[1] = {c.id};
    if (!opts_.dry_run && !orphans_)
      for (const KeyFamily& f : schema().families)
        if (f.match == KeyFamily::Match::exact) batch->add(f.prefix + std::string(c.id), OwnerRule::single, id);
    batch->add(schema().heartbeat_key(c.id), OwnerRule::single, id);
    if (batch->size() >= opts_.batch_keys || i + 1 == table_.size()) {
      co_await slots_.acquire();
      asio::co_spawn(io_, flush(std::move(batch), true), asio::detached);
      batch = std::make_unique<DeleteBatch>();
      co_await pace_and_report("heartbeats");
      if (failed_) break;
    }
  }
  if (!batch->empty() && !failed_) {
    co_await slots_.acquire();
    asio::co_spawn(io_, flush(std::move(batch), true), asio::detached);
  }
  co_await slots_.drain();
}

// A candidate's state from its heartbeat value as read at delete time.
Candidate Engine::candidate_state(resp::ReplyRef heartbeat, std::int64_t now) const {
  if (heartbeat.is_null()) return Candidate::absent;
  const auto ts = parse_heartbeat(heartbeat.str(), schema());
  return ts && stale_at(*ts, now) ? Candidate::dead : Candidate::alive;
}

// Books a settled batch: renewals, deletions per coordinator, ambiguous keys, orphans.
void Engine::settle(const DeleteBatch& b, const std::vector<Candidate>& status, std::uint64_t unlinked, bool heartbeats) {
  for (std::size_t c = 0; c < b.ids().size(); ++c) {
    if (status[c] != Candidate::alive) continue;
    const auto i = table_.find(b.ids()[c]);
    if (i < 0) continue;
    Coordinator& coord = table_[static_cast<std::uint32_t>(i)];
    if (coord.state == CoordState::stale && !coord.renewed) {
      coord.renewed = true;
      ++rep_.renewed_during_run;
    }
  }
  for (std::size_t k = 0; k < b.size(); ++k) {
    const auto cands = b.candidates(k);
    switch (decide(b.rule(k), cands, status)) {
      case Verdict::remove: {
        if (heartbeats && schema().heartbeat_id(b.key(k))) {
          ++rep_.coordinators_reaped;
          if (const auto i = table_.find(b.ids()[cands[0]]); i >= 0) table_[static_cast<std::uint32_t>(i)].reaped = true;
        }
        for (std::uint32_t c : cands)
          if (status[c] == Candidate::dead) {
            table_.credit(b.ids()[c]);
            break;
          }
        break;
      }
      case Verdict::ambiguous: ++rep_.keys_kept_ambiguous; break;
      case Verdict::orphan: {
        ++rep_.orphan_keys_seen;
        if (!orphans_ || heartbeats) break;
        orphan_batch_->keys.emplace_back(b.key(k));
        auto& hbs = orphan_batch_->heartbeats.emplace_back();
        for (std::uint32_t c : cands) hbs.push_back(schema().heartbeat_key(b.ids()[c]));
        if (orphan_batch_->size() >= opts_.batch_keys) {
          orphans_ready_.push_back(std::move(orphan_batch_));
          orphan_batch_ = std::make_unique<OrphanBatch>();
        }
        break;
      }
      case Verdict::keep_alive: break;
    }
  }
  rep_.keys_deleted += unlinked;
}

asio::awaitable<void> Engine::flush(std::unique_ptr<DeleteBatch> batch, bool heartbeats) {
  if (opts_.before_first_delete) std::exchange(opts_.before_first_delete, nullptr)();
  bool done = false;
  if (use_script_) {
    auto r = co_await flush_script(*batch, heartbeats);
    if (!r) fail(r.error(), "deleting a batch");
    done = !r || *r;
  }
  if (!done && !failed_) co_await flush_stream(*batch, heartbeats);
  slots_.release();
}

// One EVALSHA: settle and delete atomically. Returns false when scripts turned out to be
// refused (the caller falls back to stream for this and every later batch).
asio::awaitable<Result<bool>> Engine::flush_script(DeleteBatch& b, bool heartbeats) {
  resp::Command c("EVALSHA");
  c.arg(sha_).arg(b.ids().size() + b.size());
  for (const std::string& id : b.ids()) c.arg(schema().heartbeat_key(id));
  for (std::size_t k = 0; k < b.size(); ++k) c.arg(b.key(k));
  const char* fmt = schema().heartbeat_format == HeartbeatFormat::json_ms      ? "json"
                    : schema().heartbeat_format == HeartbeatFormat::integer_ms ? "ms"
                                                                               : "s";
  c.arg(threshold_ms_).arg(fmt).arg(schema().heartbeat_field).arg(b.ids().size());
  std::string spec;
  for (std::size_t k = 0; k < b.size(); ++k) {
    spec = b.rule(k) == OwnerRule::single ? "s:" : b.rule(k) == OwnerRule::one_owner ? "p:" : "a:";
    bool first = true;
    for (std::uint32_t p : b.candidates(k)) {
      if (!first) spec += ',';
      spec += std::to_string(p + 1);
      first = false;
    }
    c.arg(spec);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = co_await exec(c);
    if (r) {
      if (r->size() != 3) co_return Error(Errc::unexpected_reply, "delete script returned " + resp::to_string(r->root()));
      std::vector<Candidate> status(b.ids().size(), Candidate::absent);
      for (resp::ReplyRef i : (*r)[1]) status[static_cast<std::size_t>(i.integer() - 1)] = Candidate::alive;
      for (resp::ReplyRef i : (*r)[2]) status[static_cast<std::size_t>(i.integer() - 1)] = Candidate::dead;
      settle(b, status, static_cast<std::uint64_t>((*r)[0].integer()), heartbeats);
      co_return true;
    }
    if (r.error().code() == Errc::no_script && attempt == 0) {  // script cache flushed mid-run
      auto load = co_await exec(resp::Command("SCRIPT").arg("LOAD").arg(kDeleteBatchScript));
      if (load) continue;
    }
    if (r.error().code() == Errc::no_script || r.error().code() == Errc::no_permission ||
        r.error().code() == Errc::server_error) {
      use_script_ = false;
      rep_.notes.push_back("delete script refused mid-run (" + r.error().message() +
                          "); fell back to stream mode for the remaining batches");
      co_return false;
    }
    co_return r.error();
  }
  co_return false;
}

// MGET the candidates' heartbeats, then UNLINK only keys whose owners all read as stale.
asio::awaitable<void> Engine::flush_stream(DeleteBatch& b, bool heartbeats) {
  resp::Command mget("MGET");
  for (const std::string& id : b.ids()) mget.arg(schema().heartbeat_key(id));
  std::vector<Candidate> status(b.ids().size(), Candidate::absent);
  struct Ctx {
    const Engine* self;
    std::vector<Candidate>* status;
    std::int64_t now;
  } ctx{this, &status, server_now_ms()};
  auto sink = +[](void* p, const resp::ReplyView& v) {
    auto* c = static_cast<Ctx*>(p);
    std::size_t i = 0;
    for (resp::ReplyRef value : v.root()) (*c->status)[i++] = c->self->candidate_state(value, c->now);
  };
  const std::string wire = mget.encoded();
  if (Error e = co_await conn_->exec_raw(wire, 1, net::ReplySink{&ctx, sink})) co_return fail(e, "re-reading heartbeats");

  resp::Command unlink("UNLINK");
  std::size_t selected = 0;
  for (std::size_t k = 0; k < b.size(); ++k)
    if (decide(b.rule(k), b.candidates(k), status) == Verdict::remove) {
      unlink.arg(b.key(k));
      ++selected;
    }
  std::uint64_t unlinked = 0;
  if (selected > 0 && opts_.dry_run) {
    unlinked = selected;
  } else if (selected > 0) {
    auto r = co_await exec(unlink);
    if (!r) co_return fail(r.error(), "unlinking a batch");
    unlinked = static_cast<std::uint64_t>(r->integer());
  }
  settle(b, status, unlinked, heartbeats);
}

// Orphans: delete only if idle longer than the threshold and still without a heartbeat.
asio::awaitable<void> Engine::flush_orphans(std::unique_ptr<OrphanBatch> b) {
  resp::Pipeline p;
  for (std::size_t i = 0; i < b->size(); ++i) {
    p.add("OBJECT", "IDLETIME", b->keys[i]);
    resp::Command exists("EXISTS");
    exists.args(b->heartbeats[i]);
    if (b->heartbeats[i].empty()) exists.arg(schema().heartbeat_prefix);  // harmless placeholder
    p.add(exists);
  }
  auto replies = co_await conn_->exec(p);
  if (!replies) {
    fail(replies.error(), "checking orphans");
    slots_.release();
    co_return;
  }
  resp::Command unlink("UNLINK");
  std::size_t selected = 0;
  // OBJECT IDLETIME counts whole seconds of the server's LRU clock, so a key touched
  // moments ago may already read 1 or 2: demand one second more than the threshold.
  const auto threshold_s = static_cast<std::int64_t>(opts_.threshold.count()) + 1;
  for (std::size_t i = 0; i < b->size(); ++i) {
    const resp::Reply& idle = (*replies)[2 * i];
    if (idle.is_error()) {
      if (idle.str().find("LFU") != std::string_view::npos && orphans_) {
        orphans_ = false;
        rep_.notes.push_back("orphans skipped: the server's LFU eviction policy does not track idle time");
      }
      continue;
    }
    if (idle.is_null() || idle.integer() <= threshold_s || (*replies)[2 * i + 1].integer() != 0) continue;
    unlink.arg(b->keys[i]);
    ++selected;
  }
  if (selected > 0 && opts_.dry_run) {
    rep_.orphans_deleted += selected;
  } else if (selected > 0) {
    auto r = co_await exec(unlink);
    if (r)
      rep_.orphans_deleted += static_cast<std::uint64_t>(r->integer());
    else
      fail(r.error(), "unlinking orphans");
  }
  slots_.release();
}

asio::awaitable<void> Engine::write_audit() {
  if (opts_.dry_run || !opts_.audit || failed_) co_return;
  std::vector<std::uint32_t> reaped;
  for (std::uint32_t i = 0; i < table_.size(); ++i)
    if (table_[i].reaped) reaped.push_back(i);
  // The stream keeps ~10,000 entries: older ones would be trimmed at once, so only the
  // last 10,000 reaped coordinators are written.
  const std::size_t from = reaped.size() > kAuditMax ? reaped.size() - kAuditMax : 0;
  resp::Pipeline p;
  for (std::size_t i = from; i < reaped.size(); ++i) {
    const Coordinator& c = table_[reaped[i]];
    p.add("XADD", kAuditKey, "MAXLEN", "~", kAuditMax, "*", "id", c.id, "lastHeartbeat", c.timestamp_ms,
          "keysDeleted", c.keys_deleted);
    if (p.size() == 1000 || i + 1 == reaped.size()) {
      auto r = co_await conn_->exec(p);
      if (!r) co_return fail(r.error(), "writing the audit stream");
      if (!r->empty() && (*r)[0].is_error()) {
        rep_.notes.push_back("audit stream not written: " + std::string((*r)[0].str()));
        co_return;
      }
      p.clear();
    }
  }
}

asio::awaitable<void> Engine::pace_and_report(const char* phase) {
  if (opts_.max_busy_percent > 0 && ms_since(last_pace_) >= 100) {
    last_pace_ = Clock::now();
    const double busy_ms = (co_await info_cpu() - cpu_start_) * 1000.0;
    const double wall_ms = ms_since(start_);
    const double allowed = wall_ms * opts_.max_busy_percent / 100.0;
    if (busy_ms > allowed) {
      const double sleep_ms = std::min(1000.0, busy_ms * 100.0 / opts_.max_busy_percent - wall_ms);
      pace_timer_.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(sleep_ms * 1000)));
      co_await pace_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  if (opts_.on_progress && ms_since(last_progress_) >= 100) {
    last_progress_ = Clock::now();
    opts_.on_progress(CleanupProgress{rep_.keys_scanned, dbsize_, stale_seen_, rep_.keys_deleted, phase, ms_since(start_) / 1000});
  }
}

asio::awaitable<Result<CleanupReport>> Engine::run() {
  start_ = Clock::now();
  threshold_ms_ = static_cast<std::int64_t>(opts_.threshold.count()) * 1000;
  rep_.dry_run = opts_.dry_run;
  if (auto v = opts_.schema.validate(); !v) co_return v.error();
  auto conn = co_await net::Connection::open(io_.get_executor(), copts_);
  if (!conn) co_return conn.error();
  conn_ = *conn;

  auto locked = co_await acquire_lock();
  if (!locked) {
    if (locked.error().code() == Errc::no_permission || locked.error().code() == Errc::auth_failed) co_return locked.error();
    co_return Error(locked.error().code(), "taking the cleanup lock: " + locked.error().message());
  }
  if (!*locked) {
    rep_.lock_busy = true;
    rep_.notes.push_back("another cleanup is running against this database (lock " + std::string(kLockKey) + "); nothing done");
    rep_.execution_time_ms = static_cast<std::uint64_t>(ms_since(start_));
    co_return rep_;
  }
  asio::co_spawn(io_, renew_loop(), asio::detached);

  cpu_start_ = co_await info_cpu();
  auto time = co_await exec(resp::Command("TIME"));
  if (!time || time->size() != 2) co_return Error(Errc::unexpected_reply, "TIME failed");
  start_server_ms_ = *(*time)[0].as_integer() * 1000 + *(*time)[1].as_integer() / 1000 -
                     static_cast<std::int64_t>(ms_since(start_));
  if (auto n = co_await exec(resp::Command("DBSIZE")); n) dbsize_ = static_cast<std::uint64_t>(n->integer());
  co_await prepare_script();
  co_await check_orphan_policy();

  co_await scan_keys();
  for (const Coordinator& c : table_.all()) {
    if (c.state == CoordState::stale) {
      ++rep_.stale_coordinators_found;
      if (rep_.stale_coordinator_ids.size() < opts_.max_reported_ids)
        rep_.stale_coordinator_ids.emplace_back(c.id);
      else
        ++rep_.stale_coordinator_ids_omitted;
    } else if (c.state == CoordState::active) {
      ++rep_.active_coordinators;
    } else {
      ++rep_.invalid_heartbeats;
    }
  }
  rep_.total_coordinators_checked = table_.size();
  co_await delete_stale_heartbeats();
  // The mode that ran to the end (script mode falls back to stream if refused mid-run).
  rep_.mode = use_script_ ? "script" : "stream";
  rep_.recheck = use_script_ ? "atomic-script" : "reread-before-unlink";
  co_await write_audit();

  done_ = true;
  renew_timer_.cancel();
  co_await renewer_.drain();
  if (conn_->is_open()) {
    const double cpu_end = co_await info_cpu();
    rep_.redis_busy_ms = std::max(0.0, (cpu_end - cpu_start_) * 1000.0);
    co_await release_lock();
  }
  rep_.execution_time_ms = static_cast<std::uint64_t>(ms_since(start_));
  const double secs = std::max(1e-6, ms_since(start_) / 1000.0);
  rep_.coordinators_per_sec = static_cast<double>(rep_.total_coordinators_checked) / secs;
  conn_->close();
  co_return rep_;
}

}  // namespace
}  // namespace swarmkeeper::coord

namespace swarmkeeper {

Result<CleanupReport> run_cleanup(const ConnectionOptions& connection, const CleanupOptions& options) {
  boost::asio::io_context io;
  coord::Engine engine(io, connection, options);
  auto result = net::run_blocking(io, engine.run());
  engine.shutdown();
  io.run();  // let the connection's coroutines finish closing
  return result;
}

}  // namespace swarmkeeper
