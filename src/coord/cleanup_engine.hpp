// SPDX-License-Identifier: Apache-2.0
// cleanup_engine.hpp — the cleanup's driver for one run (contract:
// swarmkeeper/coord/cleanup.hpp; rules: coord/cleanup_plan.hpp). cleanup_engine.cpp holds the
// run itself (lock, clock, reads, batches, orphans, final groups, audit);
// cleanup_scan.cpp the scan (one server, or every master of a cluster at once, with
// moved slots read again).
//
// Threading: one io_context, run by the thread that calls run_cleanup().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "coord/cleanup_lock.hpp"
#include "coord/cleanup_plan.hpp"
#include "coord/delete_step.hpp"
#include "coord/in_flight.hpp"
#include "coord/pacer.hpp"
#include "coord/server_info.hpp"
#include "net/connection.hpp"
#include "swarmkeeper/client/cluster_client.hpp"
#include "swarmkeeper/client/router.hpp"
#include "swarmkeeper/coord/cleanup.hpp"

namespace swarmkeeper::coord {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// The plan's options from the cleanup's.
PlanOptions plan_options(const CleanupOptions& o);

class Engine {
 public:
  Engine(asio::io_context& io, ConnectionOptions c, CleanupOptions o)
      : io_(io),
        copts_(std::move(c)),
        opts_(std::move(o)),
        plan_(plan_options(opts_)),
        slots_(io.get_executor(), opts_.max_in_flight),
        pacer_(opts_.max_busy_percent) {}

  asio::awaitable<Result<CleanupReport>> run();
  void shutdown() {
    if (lock_) lock_->stop();
    if (router_) router_->close();
    for (auto& n : nodes_) n.conn->close();
  }

 private:
  CleanupReport& rep() { return plan_.report(); }
  std::int64_t server_now_ms() const {
    return start_server_ms_ + static_cast<std::int64_t>(ms_since(start_));
  }
  // A signal, or the lock lost (cleanup_lock.hpp): stop at the next safe point.
  bool stopping() const { return (opts_.stop != nullptr && opts_.stop->load()) || (lock_ && lock_->lost()); }
  std::string stop_reason() const {
    return lock_ && lock_->lost() ? "stopped: the cleanup lock was lost" : "interrupted by a signal";
  }
  void fail(const Error& e, std::string_view during) { fail(std::string(during) + ": " + e.message()); }
  void fail(std::string message) {
    if (!failed_) rep().errors.push_back(std::move(message));
    failed_ = true;
  }
  // The server's CPU seconds: summed over every master on a cluster.
  asio::awaitable<double> info_cpu() {
    double total = 0;
    for (auto& n : nodes_)
      if (auto r = co_await n.conn->exec(resp::Command("INFO").arg("cpu")))
        total += info_cpu_seconds(r->str());
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
  asio::awaitable<Result<void>> open_servers();
  asio::awaitable<void> scan();
  asio::awaitable<void> send_ready();
  asio::awaitable<void> send(CheckedUnlink batch);
  asio::awaitable<Result<std::vector<HeartbeatRead>>> read_values(const std::vector<std::string>& keys,
                                                                  std::vector<resp::Reply>& replies,
                                                                  const char* what);
  asio::awaitable<void> absent_phase();
  asio::awaitable<void> forget_absent_records();
  asio::awaitable<void> orphan_chunk();
  asio::awaitable<void> orphans();
  asio::awaitable<void> pace_and_report(const char* phase);
  asio::awaitable<void> stage(const char* phase);

  asio::io_context& io_;
  ConnectionOptions copts_;
  CleanupOptions opts_;
  CleanupPlan plan_;
  std::shared_ptr<Router> router_;          // every keyed command: one server, or routed by slot
  std::shared_ptr<ClusterClient> cluster_;  // the router, when it is a cluster's (slot map, per-slot deletes)
  std::shared_ptr<net::Connection>
      conn_;                         // one server: its deletes' connection (WATCH/MULTI), also its scan's
  std::vector<ScanNode> nodes_;      // what SCAN, INFO and DBSIZE go to: each master
  SlotMap map_at_start_;             // a cluster: each slot's master when the scan began
  std::uint64_t unserved_keys_ = 0;  // a cluster: scanned keys in slots no master serves (skipped)
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

}  // namespace swarmkeeper::coord
