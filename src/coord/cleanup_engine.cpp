// cleanup_engine.cpp — the cleanup's driver: carries out what CleanupPlan decides
// (contract: swarmkeeper/cleanup.hpp; rules: coord/cleanup_plan.hpp).
//
// On one pipelined connection: lock (cleanup_lock.hpp), server TIME, the recheck method
// (probed: script, else transaction, else reread — said loudly), then one SCAN pass:
// each page's heartbeat reads (GETRANGE, bounded) go out while the next page is
// requested; batches are sent as the plan fills them, up to max_in_flight at once.
// After the scan: waiting and parked keys attributed with the complete table, orphans
// (--orphans), then the final groups, a few batches at a time.
// Then the audit stream, and the lock released on every path out.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coord/cleanup_lock.hpp"
#include "coord/cleanup_plan.hpp"
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
constexpr std::size_t kAuditMax = 10000;    // reaped coordinators written per run, at most
constexpr std::size_t kAuditPerEntry = 64;  // coordinators per stream entry
constexpr std::size_t kAuditEntries = 2000; // MAXLEN ~ of the stream
constexpr const char* kAuditKey = "swarmkeeper:reaped";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// A MessagePack array of unsigned integers (what cmsgpack.unpack reads as a Lua table).
std::string msgpack_uint_array(std::span<const std::uint32_t> values) {
  std::string out;
  auto be = [&](std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  const std::size_t n = values.size();
  if (n < 16) out += static_cast<char>(0x90 | n);
  else if (n <= 0xffff) out += '\xdc', be(n, 2);
  else out += '\xdd', be(n, 4);
  for (std::uint32_t v : values) {
    if (v < 128) out += static_cast<char>(v);
    else if (v <= 0xff) out += '\xcc', be(v, 1);
    else if (v <= 0xffff) out += '\xcd', be(v, 2);
    else out += '\xce', be(v, 4);
  }
  return out;
}

PlanOptions plan_options(const CleanupOptions& o) {
  PlanOptions p;
  p.schema = o.schema;
  p.threshold_ms = o.threshold.count();
  p.orphans = o.orphans;
  p.batch_keys = o.batch_keys;
  p.max_heartbeat_bytes = o.max_heartbeat_bytes;
  p.park_bytes = o.park_bytes;
  p.max_reported_ids = o.max_reported_ids;
  return p;
}

class Engine {
 public:
  Engine(asio::io_context& io, ConnectionOptions c, CleanupOptions o)
      : io_(io), copts_(std::move(c)), opts_(std::move(o)), plan_(plan_options(opts_)),
        slots_(io.get_executor(), opts_.max_in_flight), tx_(io.get_executor(), 1), pace_timer_(io.get_executor()) {}

  asio::awaitable<Result<CleanupReport>> run();
  void shutdown() {
    pace_timer_.cancel();
    if (lock_) lock_->stop();
    if (conn_) conn_->close();
  }

 private:
  CleanupReport& rep() { return plan_.report(); }
  std::int64_t server_now_ms() const { return start_server_ms_ + static_cast<std::int64_t>(ms_since(start_)); }
  bool stopping() const { return opts_.stop != nullptr && opts_.stop->load(); }
  void fail(const Error& e, std::string_view during) { fail(std::string(during) + ": " + e.message()); }
  void fail(std::string message) {
    if (!failed_) rep().errors.push_back(std::move(message));
    failed_ = true;
  }
  asio::awaitable<Result<resp::Reply>> exec(const resp::Command& c) { return conn_->exec(c); }
  asio::awaitable<double> info_cpu() {
    auto r = co_await exec(resp::Command("INFO").arg("cpu"));
    co_return r ? info_cpu_seconds(r->str()) : 0.0;
  }
  asio::awaitable<void> choose_recheck();
  struct ScanPage {
    explicit ScanPage(const asio::any_io_executor& ex) : done(ex) {}
    Result<resp::Reply> reply = Error(Errc::cancelled, "not asked yet");
    bool ready = false;
    asio::steady_timer done;
  };
  resp::Command scan_command(const std::string& cursor) const;
  asio::awaitable<void> prefetch(resp::Command scan, ScanPage* out);
  asio::awaitable<void> read_page(std::uint64_t page, std::vector<std::string> reads);
  asio::awaitable<void> scan();
  asio::awaitable<void> send_ready();
  asio::awaitable<void> send(CheckedUnlink batch);
  asio::awaitable<Result<UnlinkOutcome>> send_script(const CheckedUnlink& b);
  asio::awaitable<Result<UnlinkOutcome>> send_compare(const CheckedUnlink& b, bool transaction);
  asio::awaitable<void> orphans();
  asio::awaitable<void> write_audit();
  asio::awaitable<void> pace_and_report(const char* phase);
  asio::awaitable<void> stage(const char* phase);

  asio::io_context& io_;
  ConnectionOptions copts_;
  CleanupOptions opts_;
  CleanupPlan plan_;
  std::shared_ptr<net::Connection> conn_;
  std::unique_ptr<CleanupLock> lock_;
  InFlight slots_;  // reads and batches in flight
  InFlight tx_;     // one WATCH/MULTI/EXEC at a time on the connection
  asio::steady_timer pace_timer_;
  Clock::time_point start_ = Clock::now(), last_progress_ = Clock::now(), last_pace_ = Clock::now();
  std::int64_t start_server_ms_ = 0;
  double cpu_start_ = 0;
  Recheck method_ = Recheck::script;
  std::string sha_;
  bool failed_ = false;
  std::uint64_t batches_in_flight_ = 0;
};

// Probes what the server allows, strongest first. Only an explicit --recheck reread, or
// a server that refuses both atomic ways, ends in reread — and that is said loudly.
asio::awaitable<void> Engine::choose_recheck() {
  const Recheck want = opts_.recheck;
  std::string refused;
  if (want == Recheck::automatic || want == Recheck::script) {
    auto load = co_await exec(resp::Command("SCRIPT").arg("LOAD").arg(kCheckedUnlinkScript));
    if (load) {
      sha_ = std::string(load->str());
      auto probe = co_await exec(resp::Command("EVALSHA").arg(sha_).arg(0).arg(0).arg(0));  // an empty batch
      if (probe) {
        method_ = Recheck::script;
        co_return;
      }
      refused = probe.error().message();
    } else {
      refused = load.error().message();
    }
    if (want == Recheck::script) fail("--recheck script: the server refused scripts (" + refused + ")");
  }
  if (want == Recheck::automatic || want == Recheck::transaction) {
    resp::Pipeline p;
    p.add("WATCH", kLockKey).add("UNWATCH").add("MULTI").add("DISCARD");
    auto r = co_await conn_->exec(p);
    bool ok = static_cast<bool>(r);
    if (r)
      for (const auto& reply : *r)
        if (reply.is_error()) {
          ok = false;
          refused += (refused.empty() ? "" : "; ") + std::string(reply.str());
          break;
        }
    if (ok) {
      method_ = Recheck::transaction;
      if (!refused.empty())
        rep().notes.push_back("the server refused scripts (" + refused +
                              "); every delete is confirmed with WATCH/MULTI/EXEC instead (atomic, slower)");
      co_return;
    }
    if (want == Recheck::transaction) fail("--recheck transaction: the server refused WATCH/MULTI (" + refused + ")");
  }
  method_ = Recheck::reread;
  rep().notes.push_back(
      "WARNING: deletes are NOT atomic: " +
      (want == Recheck::reread ? std::string("--recheck reread was asked for")
                               : "the server refused both scripts and transactions (" + refused + ")") +
      "; heartbeats are re-read right before each UNLINK, and a coordinator that renews in between can lose keys. "
      "Allow EVALSHA (or WATCH/MULTI/EXEC) for the cleanup's user");
}

resp::Command Engine::scan_command(const std::string& cursor) const {
  resp::Command c("SCAN");
  c.arg(cursor).arg("COUNT").arg(opts_.scan_count);
  const std::string prefix = opts_.schema.common_prefix();
  if (!prefix.empty()) c.arg("MATCH").arg(glob_escape(prefix) + "*");
  return c;
}

// The next SCAN page, asked for while the current one is attributed.
asio::awaitable<void> Engine::prefetch(resp::Command scan, ScanPage* out) {
  out->reply = co_await exec(scan);
  out->ready = true;
  out->done.cancel();
}

// One page's heartbeat reads: GETRANGE key 0 max (a huge value is never read whole).
asio::awaitable<void> Engine::read_page(std::uint64_t page, std::vector<std::string> reads) {
  std::vector<HeartbeatRead> answers(reads.size());
  Result<std::vector<resp::Reply>> replies = std::vector<resp::Reply>{};
  if (!reads.empty()) {
    resp::Pipeline p;
    for (const auto& k : reads) p.add("GETRANGE", k, 0, opts_.max_heartbeat_bytes);  // end inclusive: max + 1 bytes = too big
    replies = co_await conn_->exec(p);
    if (!replies) {
      fail(replies.error(), "reading heartbeats");
      slots_.release();
      co_return;
    }
    for (std::size_t i = 0; i < reads.size(); ++i) {
      const resp::Reply& r = (*replies)[i];
      if (r.is_error()) {
        if (r.str().starts_with("WRONGTYPE")) {
          answers[i].kind = HeartbeatRead::Kind::wrong_type;
          continue;
        }
        fail(net::error_from_reply(r.root(), "reading heartbeats (GETRANGE)"), "reading heartbeats");
        slots_.release();
        co_return;
      }
      answers[i].kind = r.str().empty() ? HeartbeatRead::Kind::empty : HeartbeatRead::Kind::value;
      answers[i].bytes = r.str();
    }
  }
  plan_.on_reads(page, answers, server_now_ms());
  slots_.release();
}

asio::awaitable<void> Engine::send_ready() {
  while (plan_.has_batch() && !failed_) {
    co_await slots_.acquire();
    if (failed_) {
      slots_.release();
      break;
    }
    asio::co_spawn(io_, send(plan_.take_batch()), asio::detached);
  }
}

asio::awaitable<void> Engine::scan() {
  // Page N+1 is asked for before page N is attributed: the server scans while the
  // client works. A page's reply is owned (one buffer) and the plan reads it in place.
  auto current = std::make_unique<ScanPage>(io_.get_executor());
  current->reply = co_await exec(scan_command("0"));
  for (std::uint64_t page = 0;; ++page) {
    Result<resp::Reply>& r = current->reply;
    if (!r) {
      fail(r.error(), "scanning keys");
      break;
    }
    if (r->size() != 2 || !(*r)[1].is_aggregate()) {
      fail(Error(Errc::unexpected_reply, "SCAN returned " + resp::to_string(r->root()).substr(0, 80)), "scanning keys");
      break;
    }
    const std::string cursor((*r)[0].str());
    const bool more = cursor != "0" && !stopping();
    auto next = std::make_unique<ScanPage>(io_.get_executor());
    if (more) asio::co_spawn(io_, prefetch(scan_command(cursor), next.get()), asio::detached);
    std::vector<std::string_view> keys;
    keys.reserve((*r)[1].size());
    for (resp::ReplyRef key : (*r)[1]) keys.push_back(key.str());
    auto reads = plan_.on_page(page, keys);
    co_await slots_.acquire();
    asio::co_spawn(io_, read_page(page, std::move(reads)), asio::detached);
    co_await send_ready();
    co_await pace_and_report("scan");
    if (more)
      while (!next->ready) {  // the prefetch holds a pointer to *next: wait for it on every path
        next->done.expires_at(asio::steady_timer::time_point::max());
        co_await next->done.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    if (stopping() && cursor != "0") {
      fail("interrupted by a signal during the scan; the next run finishes the job");
      break;
    }
    if (!more || failed_) break;
    current = std::move(next);
  }
  co_await slots_.drain();
  plan_.end_scan();
  co_await stage("delete");
}

// Sends everything the plan has ready and waits until all of it is settled.
asio::awaitable<void> Engine::stage(const char* phase) {
  while (plan_.has_batch() && !failed_) {
    if (stopping()) {
      fail(std::string("interrupted by a signal (") + phase + "); the next run finishes the job");
      break;
    }
    co_await send_ready();
    co_await pace_and_report(phase);
  }
  co_await slots_.drain();
}

asio::awaitable<void> Engine::send(CheckedUnlink batch) {
  if (opts_.before_first_delete) std::exchange(opts_.before_first_delete, nullptr)();
  ++batches_in_flight_;
  Result<UnlinkOutcome> out = Error(Errc::cancelled, "not sent");
  if (opts_.dry_run) out = co_await send_compare(batch, false);
  else if (method_ == Recheck::script) out = co_await send_script(batch);
  else out = co_await send_compare(batch, method_ == Recheck::transaction);
  --batches_in_flight_;
  if (out) plan_.on_outcome(batch, *out);
  else {
    if (!conn_->is_open() || out.error().code() == Errc::timeout) rep().keys_deleted_lower_bound = true;
    fail(out.error(), "deleting a batch");
  }
  slots_.release();
}

asio::awaitable<Result<UnlinkOutcome>> Engine::send_script(const CheckedUnlink& b) {
  // The script takes the byte checks first, then the absence checks: order[j] is the
  // batch's check index of the script's check j.
  std::vector<std::uint32_t> order, position(b.check_keys.size());
  for (int absent = 0; absent < 2; ++absent)
    for (std::uint32_t i = 0; i < b.check_keys.size(); ++i)
      if (b.expect[i].empty() == (absent == 1)) {
        position[i] = static_cast<std::uint32_t>(order.size());
        order.push_back(i);
      }
  std::size_t m1 = 0;
  for (const auto& e : b.expect) m1 += !e.empty();
  resp::Command c("EVALSHA");
  c.arg(sha_).arg(b.check_keys.size() + b.keys.size());
  for (std::uint32_t i : order) c.arg(b.check_keys[i]);
  for (const auto& k : b.keys) c.arg(k);
  c.arg(m1).arg(b.check_keys.size() - m1);
  for (std::size_t j = 0; j < m1; ++j) c.arg(b.expect[order[j]]);
  std::vector<std::uint32_t> spec;
  for (const auto& g : b.groups) {
    spec.push_back(static_cast<std::uint32_t>(g.checks.size()));
    for (std::uint32_t i : g.checks) spec.push_back(position[i] + 1);
    spec.push_back(g.keys);
  }
  c.arg(msgpack_uint_array(spec));
  for (int attempt = 0;; ++attempt) {
    auto r = co_await exec(c);
    if (r) {
      if (r->size() != 2 || !(*r)[1].is_aggregate())
        co_return Error(Errc::unexpected_reply, "the delete script returned " + resp::to_string(r->root()).substr(0, 80));
      UnlinkOutcome out;
      out.unlinked = static_cast<std::uint64_t>((*r)[0].integer());
      for (resp::ReplyRef i : (*r)[1]) {
        const auto j = i.integer() - 1;
        if (j >= 0 && static_cast<std::size_t>(j) < order.size()) out.failed.push_back(order[static_cast<std::size_t>(j)]);
      }
      co_return out;
    }
    if (r.error().code() == Errc::no_script && attempt == 0) {  // script cache flushed mid-run
      if (co_await exec(resp::Command("SCRIPT").arg("LOAD").arg(kCheckedUnlinkScript))) continue;
    }
    co_return r.error();
  }
}

// Transaction (WATCH the heartbeats, read, compare, MULTI/UNLINK/EXEC; a failed EXEC
// settles the batch again) or, not atomic, a re-read right before the UNLINK. Dry runs
// come here too: they count what exists instead of unlinking.
asio::awaitable<Result<UnlinkOutcome>> Engine::send_compare(const CheckedUnlink& b, bool transaction) {
  if (transaction) co_await tx_.acquire();
  struct Release {
    InFlight* tx;
    ~Release() { if (tx) tx->release(); }
  } release{transaction ? &tx_ : nullptr};
  for (int attempt = 0; attempt < 5; ++attempt) {
    // One write: WATCH every check, MGET the byte checks, one EXISTS over the absence
    // checks (per key only if that finds one).
    std::vector<std::uint32_t> bytes, absent;
    for (std::uint32_t i = 0; i < b.check_keys.size(); ++i) (b.expect[i].empty() ? absent : bytes).push_back(i);
    resp::Pipeline p;
    if (transaction && !b.check_keys.empty()) {
      resp::Command w("WATCH");
      w.args(b.check_keys);
      p.add(w);
    }
    resp::Command mget("MGET"), exists("EXISTS");
    for (std::uint32_t i : bytes) mget.arg(b.check_keys[i]);
    for (std::uint32_t i : absent) exists.arg(b.check_keys[i]);
    if (!bytes.empty()) p.add(mget);
    if (!absent.empty()) p.add(exists);
    UnlinkOutcome out;
    std::vector<std::uint8_t> ok(b.check_keys.size(), 1);
    if (!p.empty()) {
      auto r = co_await conn_->exec(p);
      if (!r) co_return r.error();
      for (const auto& reply : *r)
        if (reply.is_error()) co_return net::error_from_reply(reply.root(), "re-reading heartbeats");
      std::size_t at = transaction ? 1 : 0;
      if (!bytes.empty()) {
        const resp::Reply& values = (*r)[at++];
        for (std::size_t j = 0; j < bytes.size(); ++j) {
          const resp::ReplyRef v = values[j];
          ok[bytes[j]] = !v.is_null() && sha1_hex(v.str()) == b.expect[bytes[j]];
        }
      }
      if (!absent.empty() && (*r)[at].integer() > 0) {
        resp::Pipeline each;
        for (std::uint32_t i : absent) each.add("EXISTS", b.check_keys[i]);
        auto e = co_await conn_->exec(each);
        if (!e) co_return e.error();
        for (std::size_t j = 0; j < absent.size(); ++j) ok[absent[j]] = (*e)[j].integer() == 0;
      }
      for (std::uint32_t i = 0; i < b.check_keys.size(); ++i)
        if (!ok[i]) out.failed.push_back(i);
    }
    std::vector<std::string_view> chosen;
    std::size_t k = 0;
    for (const auto& g : b.groups) {
      bool pass = true;
      for (std::uint32_t c : g.checks) pass = pass && ok[c];
      if (pass)
        for (std::uint32_t j = 0; j < g.keys; ++j) chosen.push_back(b.keys[k + j]);
      k += g.keys;
    }
    if (chosen.empty()) {
      if (transaction && !b.check_keys.empty()) (void)co_await exec(resp::Command("UNWATCH"));
      co_return out;
    }
    resp::Command del(opts_.dry_run ? "EXISTS" : "UNLINK");
    del.args(chosen);
    if (!transaction) {
      auto r = co_await exec(del);
      if (!r) co_return r.error();
      out.unlinked = static_cast<std::uint64_t>(r->integer());
      co_return out;
    }
    resp::Pipeline t;
    t.add("MULTI").add(del).add("EXEC");
    auto r = co_await conn_->exec(t);
    if (!r) co_return r.error();
    const resp::Reply& exec_reply = (*r)[2];
    if (exec_reply.is_error()) co_return net::error_from_reply(exec_reply.root(), "MULTI/UNLINK/EXEC");
    if (exec_reply.is_null()) continue;  // a heartbeat changed after WATCH: settle again
    out.unlinked = static_cast<std::uint64_t>(exec_reply[0].integer());
    co_return out;
  }
  // Kept changing under us: keep the whole batch this run.
  UnlinkOutcome out;
  for (std::uint32_t i = 0; i < b.check_keys.size(); ++i) out.failed.push_back(i);
  co_return out;
}

// --orphans: idle times first (read-only), then a CheckedUnlink that confirms every
// possible owner still has no heartbeat.
asio::awaitable<void> Engine::orphans() {
  while (plan_.has_orphans() && !failed_) {
    OrphanCandidates c = plan_.take_orphans();
    resp::Pipeline p;
    for (const auto& k : c.keys) p.add("OBJECT", "IDLETIME", k);
    auto r = co_await conn_->exec(p);
    if (!r) co_return fail(r.error(), "checking orphans");
    std::vector<std::int64_t> idle(c.keys.size(), -1);
    for (std::size_t i = 0; i < c.keys.size(); ++i) {
      const resp::Reply& v = (*r)[i];
      if (v.is_error()) {
        rep().notes.push_back("orphans skipped: OBJECT IDLETIME refused (" + std::string(v.str()) +
                              "): an orphan's age cannot be known");
        co_return;
      }
      if (!v.is_null()) idle[i] = v.integer();
    }
    plan_.on_orphan_idle(c, idle);
    co_await stage("orphans");
  }
}

asio::awaitable<void> Engine::write_audit() {
  if (opts_.dry_run || !opts_.audit || failed_) co_return;
  const CoordinatorTable& table = plan_.table();
  std::vector<std::uint32_t> reaped;
  for (std::uint32_t i = 0; i < table.size(); ++i)
    if (table[i].reaped) reaped.push_back(i);
  // Each entry holds up to 64 coordinators as repeated (id, lastHeartbeat, keysDeleted)
  // fields; the stream keeps ~2,000 entries, and a run writes its last 10,000 reaped.
  const std::size_t from = reaped.size() > kAuditMax ? reaped.size() - kAuditMax : 0;
  resp::Pipeline p;
  resp::Command entry;
  std::size_t in_entry = 0;
  for (std::size_t i = from; i < reaped.size(); ++i) {
    if (in_entry == 0) {
      entry = resp::Command("XADD");
      entry.arg(kAuditKey).arg("MAXLEN").arg("~").arg(kAuditEntries).arg("*");
    }
    const Coordinator& c = table[reaped[i]];
    entry.arg("id").arg(c.id).arg("lastHeartbeat").arg(c.timestamp_ms).arg("keysDeleted").arg(c.keys_deleted);
    if (++in_entry == kAuditPerEntry || i + 1 == reaped.size()) {
      p.add(entry);
      in_entry = 0;
    }
  }
  if (p.empty()) co_return;
  auto r = co_await conn_->exec(p);
  if (!r) co_return fail(r.error(), "writing the audit stream");
  if (!r->empty() && (*r)[0].is_error()) rep().notes.push_back("audit stream not written: " + std::string((*r)[0].str()));
}

asio::awaitable<void> Engine::pace_and_report(const char* phase) {
  if (opts_.max_busy_percent > 0 && ms_since(last_pace_) >= 100) {
    last_pace_ = Clock::now();
    const double busy_ms = (co_await info_cpu() - cpu_start_) * 1000.0;
    const double wall_ms = ms_since(start_);
    if (busy_ms > wall_ms * opts_.max_busy_percent / 100.0) {
      const double sleep_ms = std::min(1000.0, busy_ms * 100.0 / opts_.max_busy_percent - wall_ms);
      pace_timer_.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(sleep_ms * 1000)));
      co_await pace_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  if (opts_.on_progress && ms_since(last_progress_) >= 100) {
    last_progress_ = Clock::now();
    opts_.on_progress(CleanupProgress{rep().keys_scanned, 0, plan_.stale_seen(), rep().keys_deleted, phase,
                                      ms_since(start_) / 1000});
  }
}

asio::awaitable<Result<CleanupReport>> Engine::run() {
  if (auto v = opts_.schema.validate(); !v) co_return v.error();
  if (opts_.threshold.count() <= 0) co_return Error(Errc::invalid_argument, "the threshold must be > 0");
  rep().dry_run = opts_.dry_run;
  auto conn = co_await net::Connection::open(io_.get_executor(), copts_);
  if (!conn) co_return conn.error();
  conn_ = *conn;

  lock_ = std::make_unique<CleanupLock>(io_.get_executor(), conn_, opts_.lock_ttl);
  auto locked = co_await lock_->acquire(opts_.wait_for_lock, opts_.stop);
  if (!locked) {
    const Errc code = locked.error().code();
    if (code == Errc::no_permission || code == Errc::auth_failed) co_return locked.error();
    if (code == Errc::read_only) {
      rep().errors.push_back("the server is a read-only replica: point the cleanup at the primary");
      co_return rep();
    }
    co_return Error(code, "taking the cleanup lock: " + locked.error().message());
  }
  // From here on every path out releases the lock (the stage functions only return).
  const auto started_wall = Clock::now();
  start_ = started_wall;
  if (*locked == CleanupLock::Outcome::busy) {
    rep().lock_busy = true;
    rep().notes.push_back("another cleanup is running against this database (lock " + std::string(kLockKey) + "); nothing done");
  } else {
    if (*locked == CleanupLock::Outcome::without_lock)
      rep().notes.push_back("the server is out of memory (OOM): running without the lock (every delete is still "
                            "checked); deleting is what frees memory");
    if (*locked == CleanupLock::Outcome::taken_over)
      rep().notes.push_back("took over a lock left by a cleanup that is no longer running");
    cpu_start_ = co_await info_cpu();
    auto time = co_await exec(resp::Command("TIME"));
    if (!time || time->size() != 2 || !(*time)[0].as_integer() || !(*time)[1].as_integer()) {
      fail(time ? Error(Errc::unexpected_reply, "TIME returned " + resp::to_string(time->root())) : time.error(),
           "reading the server's clock");
    } else {
      start_server_ms_ = *(*time)[0].as_integer() * 1000 + *(*time)[1].as_integer() / 1000 -
                         static_cast<std::int64_t>(ms_since(start_));
      co_await choose_recheck();
    }
    if (!failed_) co_await scan();
    if (!failed_) {
      plan_.prefinal();
      co_await stage("delete");
    }
    plan_.count_coordinators();
    if (!failed_ && opts_.orphans) co_await orphans();
    while (!failed_) {
      // Bounded: a few batches of final groups at a time, sent as slots free up.
      const bool queued = plan_.final_groups(2 * opts_.max_in_flight);
      if (stopping()) fail("interrupted by a signal (heartbeats); the next run finishes the job");
      co_await send_ready();
      co_await pace_and_report("heartbeats");
      if (queued) break;
    }
    co_await stage("heartbeats");
    rep().mode = method_ == Recheck::script ? "script" : method_ == Recheck::transaction ? "transaction" : "reread";
    rep().recheck = method_ == Recheck::script        ? "atomic-script"
                    : method_ == Recheck::transaction ? "atomic-transaction"
                                                      : "reread-before-unlink";
    if (batches_in_flight_ > 0) rep().keys_deleted_lower_bound = true;
    co_await write_audit();
    if (conn_->is_open()) rep().redis_busy_ms = std::max(0.0, (co_await info_cpu() - cpu_start_) * 1000.0);
  }
  co_await lock_->release();
  if (!lock_->notes().empty()) rep().notes.insert(rep().notes.end(), lock_->notes().begin(), lock_->notes().end());
  rep().execution_time_ms = static_cast<std::uint64_t>(ms_since(start_));
  rep().coordinators_per_sec =
      static_cast<double>(rep().total_coordinators_checked) / std::max(1e-6, ms_since(start_) / 1000.0);
  conn_->close();
  co_return rep();
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
