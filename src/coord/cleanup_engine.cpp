// cleanup_engine.cpp — the cleanup's driver: carries out what CleanupPlan decides
// (contract: swarmkeeper/cleanup.hpp; rules: coord/cleanup_plan.hpp).
//
// On one pipelined connection: lock (cleanup_lock.hpp), server TIME, the way to delete
// (delete_step.hpp: script, else transaction, else reread — said loudly), then one SCAN pass:
// each page's heartbeat reads (GETRANGE, bounded) go out while the next page is
// requested; batches are sent as the plan fills them, up to max_in_flight at once.
// After the scan: waiting and parked keys attributed with the complete table, orphans
// (--orphans), then the final groups, a few batches at a time.
// Then the audit stream (audit.hpp), and the lock released on every path out. Pacing
// (--max-busy) is pacer.hpp's decision.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <set>

#include "coord/audit.hpp"
#include "coord/cleanup_lock.hpp"
#include "coord/cleanup_plan.hpp"
#include "coord/cluster_delete_step.hpp"
#include "coord/delete_step.hpp"
#include "coord/in_flight.hpp"
#include "coord/pacer.hpp"
#include "coord/server_info.hpp"
#include "net/connection.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/cleanup.hpp"

namespace swarmkeeper::coord {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Every bound CleanupOptions documents, checked before anything is sent.
Result<void> validate(const CleanupOptions& o) {
  auto bad = [](std::string what) { return Error(Errc::invalid_argument, "cleanup options: " + std::move(what)); };
  constexpr auto kMaxThreshold = std::chrono::milliseconds(30LL * 24 * 3600 * 1000);
  if (o.threshold.count() <= 0 || o.threshold > kMaxThreshold) return bad("threshold must be from 1 ms to 30 days");
  if (o.batch_keys < 1 || o.batch_keys > 5000) return bad("batch_keys must be from 1 to 5000");
  if (o.scan_count < 1 || o.scan_count > 10000) return bad("scan_count must be from 1 to 10000");
  if (o.max_in_flight < 1 || o.max_in_flight > 64) return bad("max_in_flight must be from 1 to 64");
  if (o.max_heartbeat_bytes < 64 || o.max_heartbeat_bytes > (16u << 20)) return bad("max_heartbeat_bytes must be from 64 to 16 MiB");
  if (o.park_bytes > (4096ull << 20)) return bad("park_bytes must be at most 4 GiB");
  if (!(o.max_busy_percent >= 0 && o.max_busy_percent <= 100)) return bad("max_busy_percent must be from 0 to 100");
  if (o.lock_ttl < std::chrono::milliseconds(100)) return bad("lock_ttl must be at least 100 ms");
  return {};
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
        slots_(io.get_executor(), opts_.max_in_flight), pacer_(opts_.max_busy_percent) {}

  asio::awaitable<Result<CleanupReport>> run();
  void shutdown() {
    if (lock_) lock_->stop();
    if (target_) target_->close();
    for (auto& n : nodes_) n.conn->close();
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
  // The server's CPU seconds: summed over every master on a cluster.
  asio::awaitable<double> info_cpu() {
    double total = 0;
    for (auto& n : nodes_)
      if (auto r = co_await n.conn->exec(resp::Command("INFO").arg("cpu"))) total += info_cpu_seconds(r->str());
    co_return total;
  }
  // A server to scan: the one server, or each master of a cluster.
  struct ScanNode {
    std::string name;  // host:port
    std::shared_ptr<net::Connection> conn;
    std::set<std::uint16_t> migrating;  // slots it was migrating or importing when the scan began
  };
  struct ScanPage {
    explicit ScanPage(const asio::any_io_executor& ex) : done(ex) {}
    Result<resp::Reply> reply = Error(Errc::cancelled, "not asked yet");
    bool ready = false;
    asio::steady_timer done;
  };
  resp::Command scan_command(const std::string& cursor) const;
  asio::awaitable<void> prefetch(std::shared_ptr<net::Connection> conn, resp::Command scan, ScanPage* out);
  asio::awaitable<void> read_page(std::uint64_t page, std::vector<std::string> reads);
  asio::awaitable<void> feed_page(std::span<const std::string_view> keys);
  asio::awaitable<void> scan_node(ScanNode& node);
  asio::awaitable<void> rescan_moved();
  asio::awaitable<std::set<std::uint16_t>> migrating_slots(ScanNode& node);
  asio::awaitable<Result<void>> open_cluster();
  asio::awaitable<void> scan();
  asio::awaitable<void> send_ready();
  asio::awaitable<void> send(CheckedUnlink batch);
  asio::awaitable<void> orphan_chunk();
  asio::awaitable<void> orphans();
  asio::awaitable<void> pace_and_report(const char* phase);
  asio::awaitable<void> stage(const char* phase);

  asio::io_context& io_;
  ConnectionOptions copts_;
  CleanupOptions opts_;
  CleanupPlan plan_;
  std::shared_ptr<net::Connection> conn_;  // one server: the run's connection
  std::shared_ptr<ClusterClient> cluster_;  // a cluster: routes every keyed command
  std::shared_ptr<Target> target_;          // keyed commands, on either
  std::vector<ScanNode> nodes_;             // what SCAN, INFO and DBSIZE go to
  std::vector<std::string> owner_at_start_;  // a cluster: each slot's master when the scan began
  std::unique_ptr<CleanupLock> lock_;
  InFlight slots_;  // reads and batches in flight
  std::unique_ptr<Deleter> deleter_;
  Pacer pacer_;
  std::uint64_t next_page_ = 0;
  Clock::time_point start_ = Clock::now(), last_progress_ = Clock::now(), last_pace_ = Clock::now();
  std::int64_t start_server_ms_ = 0;
  std::uint64_t dbsize_ = 0;  // keys in the database at the start (progress only)
  double cpu_start_ = 0;
  bool failed_ = false;
  std::uint64_t batches_in_flight_ = 0;
};

resp::Command Engine::scan_command(const std::string& cursor) const {
  resp::Command c("SCAN");
  c.arg(cursor).arg("COUNT").arg(opts_.scan_count);
  const std::string prefix = opts_.schema.common_prefix();
  if (!prefix.empty()) c.arg("MATCH").arg(glob_escape(prefix) + "*");
  return c;
}

// The next SCAN page, asked for while the current one is attributed.
asio::awaitable<void> Engine::prefetch(std::shared_ptr<net::Connection> conn, resp::Command scan, ScanPage* out) {
  out->reply = co_await conn->exec(scan);
  out->ready = true;
  out->done.cancel();
}

// One page's heartbeat reads: GETRANGE key 0 max (a huge value is never read whole).
asio::awaitable<void> Engine::read_page(std::uint64_t page, std::vector<std::string> reads) {
  std::vector<HeartbeatRead> answers(reads.size());
  Result<std::vector<resp::Reply>> replies = std::vector<resp::Reply>{};
  if (!reads.empty()) {
    std::vector<resp::Command> p;
    p.reserve(reads.size());
    for (const auto& k : reads)  // end inclusive: max + 1 bytes = too big
      p.push_back(resp::Command("GETRANGE").arg(k).arg(0).arg(opts_.max_heartbeat_bytes));
    replies = co_await target_->exec(std::move(p));
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

// One page of keys, wherever it came from: the plan classifies it, its heartbeat reads
// go out, and whatever batches it filled are sent.
asio::awaitable<void> Engine::feed_page(std::span<const std::string_view> keys) {
  const std::uint64_t page = next_page_++;
  auto reads = plan_.on_page(page, keys);
  co_await slots_.acquire();
  asio::co_spawn(io_, read_page(page, std::move(reads)), asio::detached);
  co_await send_ready();
  if (plan_.orphan_backlog() >= opts_.batch_keys && !failed_) co_await orphan_chunk();  // memory stays bounded
}

asio::awaitable<void> Engine::scan_node(ScanNode& node) {
  // Page N+1 is asked for before page N is attributed: the server scans while the
  // client works. A page's reply is owned (one buffer) and the plan reads it in place.
  auto current = std::make_unique<ScanPage>(io_.get_executor());
  current->reply = co_await node.conn->exec(scan_command("0"));
  const std::string during = nodes_.size() > 1 ? "scanning keys on " + node.name : "scanning keys";
  for (;;) {
    Result<resp::Reply>& r = current->reply;
    if (!r) {
      fail(r.error(), during);
      break;
    }
    if (r->size() != 2 || !(*r)[1].is_aggregate()) {
      fail(Error(Errc::unexpected_reply, "SCAN returned " + resp::to_string(r->root()).substr(0, 80)), during);
      break;
    }
    const std::string cursor((*r)[0].str());
    const bool more = cursor != "0" && !stopping() && !failed_;
    auto next = std::make_unique<ScanPage>(io_.get_executor());
    if (more) asio::co_spawn(io_, prefetch(node.conn, scan_command(cursor), next.get()), asio::detached);
    std::vector<std::string_view> keys;
    keys.reserve((*r)[1].size());
    for (resp::ReplyRef key : (*r)[1]) keys.push_back(key.str());
    co_await feed_page(keys);
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
}

// The slots a master is migrating or importing, from its own line of CLUSTER NODES
// ("[slot->-id]", "[slot-<-id]").
asio::awaitable<std::set<std::uint16_t>> Engine::migrating_slots(ScanNode& node) {
  std::set<std::uint16_t> out;
  auto r = co_await node.conn->exec(resp::Command("CLUSTER").arg("NODES"));
  if (!r) co_return out;
  std::string_view text = r->str();
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.find("myself") == std::string_view::npos) continue;
    for (std::size_t at = line.find('['); at != std::string_view::npos; at = line.find('[', at + 1)) {
      unsigned slot = 0;
      std::size_t i = at + 1;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') slot = slot * 10 + static_cast<unsigned>(line[i++] - '0');
      if (i > at + 1 && slot < kClusterSlots) out.insert(static_cast<std::uint16_t>(slot));
    }
  }
  co_return out;
}

// A cluster, after every master was scanned: a slot that changed master since the scan
// began, or was being migrated at its start or end, may hold keys that moved past a
// cursor. Each such slot is read again on every master (CLUSTER GETKEYSINSLOT, bounded),
// so a key present for the whole run is found wherever it went. Keys seen twice are
// fine: the plan reads a heartbeat once, and a second UNLINK of a key counts nothing.
asio::awaitable<void> Engine::rescan_moved() {
  constexpr std::int64_t kMaxKeysPerSlot = 100000;
  if (auto ok = co_await cluster_->refresh(); !ok) {
    rep().notes.push_back("the slot map could not be read again after the scan (" + ok.error().message() +
                          "): slots that moved during the run were not scanned again; the next run covers them");
    co_return;
  }
  std::set<std::uint16_t> moved;
  for (auto& n : nodes_) {
    moved.insert(n.migrating.begin(), n.migrating.end());
    auto now = co_await migrating_slots(n);
    moved.insert(now.begin(), now.end());
  }
  for (std::uint16_t s = 0; s < kClusterSlots; ++s) {
    const ClusterNode* owner = cluster_->slots().node_for(s);
    const std::string now = owner ? owner->host + ":" + std::to_string(owner->port) : "";
    if (now != owner_at_start_[s]) moved.insert(s);
  }
  if (moved.empty()) co_return;
  rep().slots_rescanned = moved.size();
  const std::string prefix = opts_.schema.common_prefix();
  std::vector<std::uint16_t> slots(moved.begin(), moved.end());
  for (auto& node : nodes_) {
    for (std::size_t from = 0; from < slots.size() && !failed_; from += 256) {
      const std::size_t to = std::min(slots.size(), from + 256);
      resp::Pipeline count;
      for (std::size_t i = from; i < to; ++i) count.add("CLUSTER", "COUNTKEYSINSLOT", slots[i]);
      auto counts = co_await node.conn->exec(count);
      if (!counts) {
        fail(counts.error(), "scanning moved slots again on " + node.name);
        co_return;
      }
      for (std::size_t i = from; i < to && !failed_; ++i) {
        const std::int64_t n = (*counts)[i - from].is_error() ? 0 : (*counts)[i - from].integer();
        if (n <= 0) continue;
        if (n > kMaxKeysPerSlot)
          rep().notes.push_back("slot " + std::to_string(slots[i]) + " moved during the run and holds " + std::to_string(n) +
                                " keys on " + node.name + ": only the first " + std::to_string(kMaxKeysPerSlot) +
                                " were scanned again; the next run covers the rest");
        auto keys = co_await node.conn->exec(
            resp::Command("CLUSTER").arg("GETKEYSINSLOT").arg(slots[i]).arg(std::min(n, kMaxKeysPerSlot)));
        if (!keys) {
          fail(keys.error(), "scanning moved slots again on " + node.name);
          co_return;
        }
        std::vector<std::string_view> page;
        for (resp::ReplyRef k : *keys)
          if (k.str().starts_with(prefix)) page.push_back(k.str());
        for (std::size_t at = 0; at < page.size(); at += opts_.scan_count)
          co_await feed_page(std::span(page).subspan(at, std::min(opts_.scan_count, page.size() - at)));
        co_await pace_and_report("scan");
      }
    }
  }
}

asio::awaitable<void> Engine::scan() {
  if (!cluster_) {
    co_await scan_node(nodes_.front());
  } else {
    owner_at_start_.assign(kClusterSlots, "");
    for (std::uint16_t s = 0; s < kClusterSlots; ++s)
      if (const ClusterNode* n = cluster_->slots().node_for(s)) owner_at_start_[s] = n->host + ":" + std::to_string(n->port);
    for (auto& n : nodes_) n.migrating = co_await migrating_slots(n);
    // Every master at once; the plan and the batches are shared (one thread).
    std::size_t running = nodes_.size();
    asio::steady_timer all_done(io_.get_executor(), asio::steady_timer::time_point::max());
    for (auto& n : nodes_)
      asio::co_spawn(io_, [this, &n, &running, &all_done]() -> asio::awaitable<void> {
        co_await scan_node(n);
        if (--running == 0) all_done.cancel();
      }, asio::detached);
    while (running > 0) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!failed_ && !stopping()) co_await rescan_moved();
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
  Result<UnlinkOutcome> out = co_await deleter_->run(batch);
  --batches_in_flight_;
  if (out) plan_.on_outcome(batch, *out);
  else {
    if (!target_->is_open() || (conn_ && !conn_->is_open()) || out.error().code() == Errc::timeout ||
        out.error().code() == Errc::connection_lost)
      rep().keys_deleted_lower_bound = true;
    fail(out.error(), "deleting a batch");
  }
  slots_.release();
}

// One chunk of orphan candidates (--orphans): idle times first (read-only), then a
// CheckedUnlink that confirms every possible owner still has no heartbeat.
asio::awaitable<void> Engine::orphan_chunk() {
  OrphanCandidates c = plan_.take_orphans();
  std::vector<resp::Command> p;
  for (const auto& k : c.keys) p.push_back(resp::Command("OBJECT").arg("IDLETIME").arg(k));
  auto r = co_await target_->exec(std::move(p));
  if (!r) co_return fail(r.error(), "checking orphans");
  std::vector<std::int64_t> idle(c.keys.size(), -1);
  for (std::size_t i = 0; i < c.keys.size(); ++i) {
    const resp::Reply& v = (*r)[i];
    if (v.is_error()) {
      rep().notes.push_back("orphans skipped: OBJECT IDLETIME refused (" + std::string(v.str()) +
                            "): an orphan's age cannot be known");
      plan_.drop_orphans();
      co_return;
    }
    if (!v.is_null()) idle[i] = v.integer();
  }
  plan_.on_orphan_idle(c, idle);
  co_await send_ready();
}

asio::awaitable<void> Engine::orphans() {
  while (plan_.has_orphans() && !failed_) {
    co_await orphan_chunk();
    co_await stage("orphans");
  }
}

asio::awaitable<void> Engine::pace_and_report(const char* phase) {
  if (pacer_.enabled() && ms_since(last_pace_) >= 100) {
    last_pace_ = Clock::now();
    const auto pause = pacer_.pause((co_await info_cpu() - cpu_start_) * 1000.0, ms_since(start_));
    if (pause.count() > 0) {
      asio::steady_timer t(io_.get_executor(), pause);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  if (opts_.on_progress && ms_since(last_progress_) >= 100) {
    last_progress_ = Clock::now();
    opts_.on_progress(CleanupProgress{rep().keys_scanned, dbsize_, plan_.stale_seen(), rep().keys_deleted, phase,
                                      ms_since(start_) / 1000});
  }
}

// A cluster: the slot map, a connection to each master (SCAN, INFO, DBSIZE), and
// every keyed command through the cluster client.
asio::awaitable<Result<void>> Engine::open_cluster() {
  ClusterOptions co = ClusterOptions::from(copts_);
  co.node.max_connections = 2;
  cluster_ = std::make_shared<ClusterClient>(io_.get_executor(), co);
  if (auto ok = co_await cluster_->connect(); !ok) co_return ok.error();
  target_ = cluster_target(cluster_);
  for (const auto& m : cluster_->slots().masters()) {
    ConnectionOptions o = co.node.connection;
    o.host = m.host;
    o.port = m.port;
    auto c = co_await net::Connection::open(io_.get_executor(), o);
    if (!c) co_return Error(c.error().code(), "cluster master " + m.host + ":" + std::to_string(m.port) + ": " + c.error().message());
    nodes_.push_back(ScanNode{m.host + ":" + std::to_string(m.port), *c, {}});
  }
  rep().cluster_masters = nodes_.size();
  plan_.set_slot_order(true);
  co_return Result<void>{};
}

asio::awaitable<Result<CleanupReport>> Engine::run() {
  if (auto v = opts_.schema.validate(); !v) co_return v.error();
  if (auto v = validate(opts_); !v) co_return v.error();
  rep().dry_run = opts_.dry_run;
  bool cluster = copts_.cluster;
  if (!cluster) {
    auto conn = co_await net::Connection::open(io_.get_executor(), copts_);
    if (!conn) co_return conn.error();
    conn_ = *conn;
    // A cluster node given as a plain URL: INFO says so; where INFO is not allowed
    // (ACL), CLUSTER INFO answering does (a server without cluster support refuses it).
    if (auto info = co_await conn_->exec(resp::Command("INFO").arg("cluster")); info && info->root().is_string()) {
      cluster = info->str().find("cluster_enabled:1") != std::string_view::npos;
    } else if (auto ci = co_await conn_->exec(resp::Command("CLUSTER").arg("INFO")); ci) {
      cluster = true;
    }
    if (cluster) {
      conn_->close();
      conn_.reset();
    }
  }
  if (cluster) {
    if (opts_.recheck == Recheck::transaction)
      co_return Error(Errc::invalid_argument, "--recheck transaction does not work on a cluster (WATCH reaches one slot "
                                              "only); use the default (script); nothing was done");
    if (auto ok = co_await open_cluster(); !ok) co_return ok.error();
  } else {
    target_ = node_target(io_.get_executor(), conn_, copts_);
    nodes_.push_back(ScanNode{copts_.host + ":" + std::to_string(copts_.port), conn_, {}});
  }

  lock_ = std::make_unique<CleanupLock>(io_.get_executor(), target_, opts_.lock_ttl);
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
    // The clock of the first server (on a cluster, every master's clock should agree).
    auto time = co_await nodes_.front().conn->exec(resp::Command("TIME"));
    if (!time || time->size() != 2 || !(*time)[0].as_integer() || !(*time)[1].as_integer()) {
      fail(time ? Error(Errc::unexpected_reply, "TIME returned " + resp::to_string(time->root())) : time.error(),
           "reading the server's clock");
    } else {
      start_server_ms_ = *(*time)[0].as_integer() * 1000 + *(*time)[1].as_integer() / 1000 -
                         static_cast<std::int64_t>(ms_since(start_));
      for (auto& n : nodes_)
        if (auto d = co_await n.conn->exec(resp::Command("DBSIZE")); d && d->root().as_integer())
          dbsize_ += static_cast<std::uint64_t>(d->integer());
      if (cluster_) deleter_ = std::make_unique<ClusterDeleteStep>(cluster_, opts_.dry_run);
      else deleter_ = std::make_unique<DeleteStep>(io_.get_executor(), conn_, opts_.dry_run);
      if (auto chosen = co_await deleter_->choose(opts_.recheck, rep().notes); !chosen) fail(chosen.error(), "choosing how to delete");
    }
    if (!failed_) co_await scan();
    // The complete table settles the waiting keys; their orphans go a chunk at a time.
    while (!failed_) {
      const bool settled = plan_.prefinal(opts_.batch_keys);
      if (opts_.orphans) co_await orphans();
      co_await stage("delete");
      if (settled) break;
    }
    plan_.count_coordinators();
    while (!failed_) {
      // Bounded: a few batches of final groups at a time, sent as slots free up.
      const bool queued = plan_.final_groups(2 * opts_.max_in_flight);
      if (stopping()) fail("interrupted by a signal (heartbeats); the next run finishes the job");
      co_await send_ready();
      co_await pace_and_report("heartbeats");
      if (queued) break;
    }
    co_await stage("heartbeats");
    const Recheck method = deleter_ ? deleter_->method() : Recheck::script;
    if (deleter_)
      if (auto w = deleter_->nonatomic_summary(); !w.empty()) rep().notes.push_back(std::move(w));
    if (plan_.contended_batches() > 0)
      rep().notes.push_back(std::to_string(plan_.contended_batches()) +
                            " batches were left for the next run: their heartbeats kept changing under WATCH");
    rep().mode = method == Recheck::script ? "script" : method == Recheck::transaction ? "transaction" : "reread";
    rep().recheck = method == Recheck::script        ? "atomic-script"
                    : method == Recheck::transaction ? "atomic-transaction"
                                                     : "reread-before-unlink";
    if (deleter_) deleter_->report(rep());
    if (batches_in_flight_ > 0) rep().keys_deleted_lower_bound = true;
    if (!opts_.dry_run && opts_.audit && !failed_) {
      std::string note;
      if (auto a = co_await write_audit(*target_, plan_.table(), &note); !a) fail(a.error(), "writing the audit stream");
      if (!note.empty()) rep().notes.push_back(std::move(note));
    }
    if (target_->is_open()) rep().redis_busy_ms = std::max(0.0, (co_await info_cpu() - cpu_start_) * 1000.0);
  }
  co_await lock_->release();
  if (!lock_->notes().empty()) rep().notes.insert(rep().notes.end(), lock_->notes().begin(), lock_->notes().end());
  rep().execution_time_ms = static_cast<std::uint64_t>(ms_since(start_));
  rep().coordinators_per_sec =
      static_cast<double>(rep().total_coordinators_checked) / std::max(1e-6, ms_since(start_) / 1000.0);
  target_->close();
  for (auto& n : nodes_) n.conn->close();
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
