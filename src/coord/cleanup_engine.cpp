// SPDX-License-Identifier: Apache-2.0
// cleanup_engine.cpp — the cleanup's driver: carries out what CleanupPlan decides
// (contract: swarmkeeper/coord/cleanup.hpp; rules: coord/cleanup_plan.hpp).
//
// On one pipelined connection (a cluster: its client, and a connection to each master):
// lock (cleanup_lock.hpp), server TIME, the way to delete (delete_step.hpp: script, else
// transaction, else reread — said loudly; cluster_delete_step.hpp), then the scan
// (cleanup_scan.cpp): each page's heartbeat reads (GETRANGE, bounded) go out while the
// next page is requested; batches are sent as the plan fills them, up to max_in_flight.
// After the scan: waiting and parked keys attributed with the complete table, orphans
// (--orphans), then the final groups, a few batches at a time.
// Then the audit stream (audit.hpp), and the lock released on every path out. Pacing
// (--max-busy) is pacer.hpp's decision.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coord/cleanup_engine.hpp"

#include "coord/audit.hpp"
#include "coord/cluster_delete_step.hpp"
#include "coord/server_info.hpp"
#include "net/run_blocking.hpp"

namespace swarmkeeper::coord {
namespace {

// Every bound CleanupOptions documents, checked before anything is sent.
Result<void> validate(const CleanupOptions& o) {
  auto bad = [](std::string what) {
    return Error(Errc::invalid_argument, "cleanup options: " + std::move(what));
  };
  constexpr auto kMaxThreshold = std::chrono::milliseconds(30LL * 24 * 3600 * 1000);
  if (o.threshold.count() <= 0 || o.threshold > kMaxThreshold)
    return bad("threshold must be from 1 ms to 30 days");
  if (o.batch_keys < 1 || o.batch_keys > 5000) return bad("batch_keys must be from 1 to 5000");
  if (o.scan_count < 1 || o.scan_count > 10000) return bad("scan_count must be from 1 to 10000");
  if (o.max_in_flight < 1 || o.max_in_flight > 64) return bad("max_in_flight must be from 1 to 64");
  if (o.max_heartbeat_bytes < 64 || o.max_heartbeat_bytes > (16u << 20))
    return bad("max_heartbeat_bytes must be from 64 to 16 MiB");
  if (o.park_bytes > (4096ull << 20)) return bad("park_bytes must be at most 4 GiB");
  if (!(o.max_busy_percent >= 0 && o.max_busy_percent <= 100))
    return bad("max_busy_percent must be from 0 to 100");
  if (o.lock_ttl < std::chrono::milliseconds(100)) return bad("lock_ttl must be at least 100 ms");
  if (o.max_absent_records > 100'000'000) return bad("max_absent_records must be at most 100,000,000");
  return {};
}

}  // namespace

PlanOptions plan_options(const CleanupOptions& o) {
  PlanOptions p;
  p.schema = o.schema;
  p.threshold_ms = o.threshold.count();
  p.orphans = o.orphans;
  p.absent = o.absent;
  p.batch_keys = o.batch_keys;
  p.max_heartbeat_bytes = o.max_heartbeat_bytes;
  p.park_bytes = o.park_bytes;
  p.max_reported_ids = o.max_reported_ids;
  return p;
}

// One page's liveness reads: GETRANGE key 0 max (a huge value is never read whole).
asio::awaitable<void> Engine::read_page(std::uint64_t page, std::vector<std::string> reads) {
  std::vector<resp::Reply> replies;
  auto answers = co_await read_values(reads, replies, "reading heartbeats");
  if (!answers) {
    fail(answers.error(), "reading heartbeats");
    slots_.release();
    co_return;
  }
  plan_.on_reads(page, *answers, server_now_ms());
  slots_.release();
}

asio::awaitable<void> Engine::send_ready() {
  while (plan_.has_batch() && !failed_) {
    co_await slots_.acquire();
    // On a cluster several scans feed the plan at once: another may have taken the batch
    // this one saw while it waited for a slot.
    if (failed_ || !plan_.has_batch() || stopping()) {  // (the lock may have been lost meanwhile)
      slots_.release();
      break;
    }
    asio::co_spawn(io_, send(plan_.take_batch()), asio::detached);
  }
}

// Sends everything the plan has ready and waits until all of it is settled.
asio::awaitable<void> Engine::stage(const char* phase) {
  while (plan_.has_batch() && !failed_) {
    if (stopping()) {
      fail(stop_reason() + " (" + phase + "); the next run finishes the job");
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
  if (out)
    plan_.on_outcome(batch, *out);
  else {
    // On a cluster a batch is several steps on several masters: when one fails, others
    // may have deleted already.
    if (cluster_ || (conn_ && !conn_->is_open()) || out.error().code() == Errc::timeout ||
        out.error().code() == Errc::connection_lost)
      rep().keys_deleted_lower_bound = true;
    fail(out.error(), "deleting a batch");
  }
  slots_.release();
}

// One chunk of orphan candidates (--orphans): their values first (read-only, for the
// timestamps they carry), then a CheckedUnlink that confirms each still holds the bytes
// read and every possible owner still has no liveness record.
asio::awaitable<void> Engine::orphan_chunk() {
  OrphanCandidates c = plan_.take_orphans();
  std::vector<resp::Reply> replies;
  auto reads = co_await read_values(c.keys, replies, "checking orphans");
  if (!reads) co_return fail(reads.error(), "checking orphans");
  plan_.on_orphan_values(c, *reads, server_now_ms());
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
    opts_.on_progress(CleanupProgress{rep().keys_scanned, dbsize_, plan_.stale_seen(), rep().keys_deleted,
                                      phase, ms_since(start_) / 1000});
  }
}

// The router (one server, or a cluster: a plain URL may name a cluster node) for every
// keyed command, and a connection to each master for SCAN, INFO and DBSIZE.
asio::awaitable<Result<void>> Engine::open_servers() {
  ClientOptions ro;
  ro.connection = copts_;
  ro.compression = false;  // values as the swarm wrote them
  ro.min_connections = 1;
  ro.max_connections = 2;
  ro.acquire_timeout =
      std::min<std::chrono::milliseconds>(copts_.connect_timeout, std::chrono::milliseconds(2000));
  auto router = co_await open_router(io_.get_executor(), ro);
  if (!router) co_return router.error();
  router_ = std::shared_ptr<Router>(std::move(*router));
  cluster_ = std::dynamic_pointer_cast<ClusterClient>(router_);
  if (cluster_ && opts_.recheck == Recheck::transaction)
    co_return Error(Errc::invalid_argument,
                    "--recheck transaction does not work on a cluster (WATCH reaches one slot "
                    "only); use the default (script); nothing was done");
  for (const ConnectionOptions& m : router_->masters()) {
    const std::string name = m.host + ":" + std::to_string(m.port);
    auto c = co_await net::Connection::open(io_.get_executor(), m);
    if (!c)
      co_return cluster_ ? Error(c.error().code(), "cluster master " + name + ": " + c.error().message())
                         : c.error();
    nodes_.push_back(ScanNode{name, *c, {}});
  }
  if (cluster_) {
    rep().cluster_masters = nodes_.size();
    plan_.set_slot_order(true);
  } else {
    conn_ = nodes_.front().conn;
  }
  co_return Result<void>{};
}

asio::awaitable<Result<CleanupReport>> Engine::run() {
  if (auto v = opts_.schema.validate(); !v) co_return v.error();
  if (auto v = validate(opts_); !v) co_return v.error();
  rep().dry_run = opts_.dry_run;
  if (auto ok = co_await open_servers(); !ok) co_return ok.error();

  lock_ = std::make_unique<CleanupLock>(io_.get_executor(), router_, opts_.lock_ttl);
  // A dry run writes nothing, the lock included: it never keeps a real run out.
  Result<CleanupLock::Outcome> locked = CleanupLock::Outcome::taken;
  if (!opts_.dry_run) locked = co_await lock_->acquire(opts_.wait_for_lock, opts_.stop);
  if (!locked) {
    const Errc code = locked.error().code();
    if (code == Errc::no_permission || code == Errc::auth_failed) co_return locked.error();
    if (code == Errc::read_only) {
      rep().errors.emplace_back("the server is a read-only replica: point the cleanup at the primary");
      co_return rep();
    }
    co_return Error(code, "taking the cleanup lock: " + locked.error().message());
  }
  // From here on every path out releases the lock (the stage functions only return).
  const auto started_wall = Clock::now();
  start_ = started_wall;
  if (*locked == CleanupLock::Outcome::busy) {
    rep().lock_busy = true;
    rep().notes.emplace_back("another cleanup is running against this database (lock " +
                             std::string(kLockKey) + "); nothing done");
  } else {
    if (*locked == CleanupLock::Outcome::without_lock)
      rep().notes.emplace_back(
          "the server is out of memory (OOM): running without the lock (every delete is still "
          "checked); deleting is what frees memory");
    if (*locked == CleanupLock::Outcome::taken_over)
      rep().notes.emplace_back("took over a lock left by a cleanup that is no longer running");
    cpu_start_ = co_await info_cpu();
    // The clock of the first server (on a cluster, every master's clock should agree).
    auto time = co_await nodes_.front().conn->exec(resp::Command("TIME"));
    const auto server_ms = time ? resp::time_ms(time->root()) : std::nullopt;
    if (!server_ms) {
      fail(time ? Error(Errc::unexpected_reply, "TIME returned " + resp::to_string(time->root()))
                : time.error(),
           "reading the server's clock");
    } else {
      start_server_ms_ = *server_ms - static_cast<std::int64_t>(ms_since(start_));
      for (auto& n : nodes_)
        if (auto d = co_await n.conn->exec(resp::Command("DBSIZE")); d && d->root().as_integer())
          dbsize_ += static_cast<std::uint64_t>(d->integer());
      if (cluster_)
        deleter_ = std::make_unique<ClusterDeleteStep>(cluster_, opts_.dry_run,
                                                       std::move(opts_.inside_delete_window));
      else
        deleter_ = std::make_unique<DeleteStep>(io_.get_executor(), conn_, opts_.dry_run);
      if (auto chosen = co_await deleter_->choose(opts_.recheck, rep().notes); !chosen)
        fail(chosen.error(), "choosing how to delete");
    }
    if (!failed_) co_await scan();
    if (!failed_ && opts_.absent) co_await absent_phase();
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
      if (stopping()) fail(stop_reason() + " (heartbeats); the next run finishes the job");
      co_await send_ready();
      co_await pace_and_report("heartbeats");
      if (queued) break;
    }
    co_await stage("heartbeats");
    plan_.count_absent();
    co_await forget_absent_records();
    const Recheck method = deleter_ ? deleter_->method() : Recheck::script;
    if (deleter_)
      if (auto w = deleter_->nonatomic_summary(); !w.empty()) rep().notes.push_back(std::move(w));
    if (plan_.contended_batches() > 0)
      rep().notes.push_back(
          std::to_string(plan_.contended_batches()) +
          " batches were left for the next run: their heartbeats kept changing under WATCH");
    rep().mode = method == Recheck::script        ? "script"
                 : method == Recheck::transaction ? "transaction"
                                                  : "reread";
    rep().recheck = method == Recheck::script        ? "atomic-script"
                    : method == Recheck::transaction ? "atomic-transaction"
                                                     : "reread-before-unlink";
    if (deleter_) deleter_->report(rep());
    if (cluster_ && plan_.unparked_keys() > 0)
      rep().notes.push_back(std::to_string(plan_.unparked_keys()) +
                            " keys found the park area full (--park-mb " +
                            std::to_string(opts_.park_bytes >> 20) +
                            "): on a cluster each of those costs a delete step of its own, "
                            "where a parked key shares its slot's. More park memory lowers the cluster's "
                            "CPU: at 10^6 coordinators "
                            "--park-mb 256 held every key and halved it");
    if (plan_.absent_incomplete() > 0)
      rep().notes.push_back(std::to_string(plan_.absent_incomplete()) +
                            " absent coordinators were left for a later run: "
                            "keys naming them found the park area full (--park-mb " +
                            std::to_string(opts_.park_bytes >> 20) +
                            "), so not all their keys were weighed. More park memory reaps them in one run");
    if (unserved_keys_ > 0)
      rep().notes.push_back(
          std::to_string(unserved_keys_) +
          " keys are in slots that no master serves (cluster_slots_ok < 16384): they were left alone; "
          "assign those slots (CLUSTER ADDSLOTS, or fail over to a replica) and run again");
    if (batches_in_flight_ > 0) rep().keys_deleted_lower_bound = true;
    if (!opts_.dry_run && opts_.audit && !failed_) {
      std::string note;
      if (auto a = co_await write_audit(*router_, plan_.table(), &note); !a)
        fail(a.error(), "writing the audit stream");
      if (!note.empty()) rep().notes.push_back(std::move(note));
    }
    if (!conn_ || conn_->is_open())
      rep().redis_busy_ms = std::max(0.0, (co_await info_cpu() - cpu_start_) * 1000.0);
  }
  co_await lock_->release();  // finds out, too, whether the lock was still ours
  if (lock_->lost()) rep().errors.push_back(lock_->lost_reason());
  if (!lock_->notes().empty())
    rep().notes.insert(rep().notes.end(), lock_->notes().begin(), lock_->notes().end());
  rep().execution_time_ms = static_cast<std::uint64_t>(ms_since(start_));
  rep().coordinators_per_sec =
      static_cast<double>(rep().total_coordinators_checked) / std::max(1e-6, ms_since(start_) / 1000.0);
  router_->close();
  for (auto& n : nodes_) n.conn->close();
  co_return rep();
}

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
