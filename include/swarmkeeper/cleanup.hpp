// cleanup.hpp — find coordinators whose heartbeat is stale and delete their keys.
//
// The guarantees (DESIGN.md, "Guarantees the cleanup keeps"):
//   - Never blocks Redis: every call is bounded (a SCAN page, an MGET/UNLINK batch, a
//     script over a bounded batch); deletion uses UNLINK.
//   - Never deletes what is alive: a key is deleted only if every coordinator it
//     belongs to is stale at the moment of deletion — re-checked atomically inside the
//     delete script (mode script), or re-read immediately before the UNLINK (mode
//     stream; the report's `recheck` says which). Ownership comes from the key's
//     structure (key_schema.hpp); a key that cannot be attributed is kept and counted.
//   - Streams: client memory grows with coordinators, not keys; deletion starts while
//     the scan is still running.
//   - Reports truthfully: counts are what was checked, found, deleted and kept.
//
// How (src/coord/cleanup_engine.cpp): one SCAN pass over heartbeat keys (MATCH
// <prefix>*) with pipelined MGETs builds the table of coordinators and their state;
// a second SCAN pass attributes every family key and streams deletions in batches.
//
//   CleanupOptions o;  o.dry_run = true;
//   auto report = run_cleanup(connection_options, o);
//   if (!report) { ... cannot connect / authenticate ... }
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "swarmkeeper/connection_options.hpp"
#include "swarmkeeper/error.hpp"
#include "swarmkeeper/key_schema.hpp"

namespace swarmkeeper {

enum class CleanupMode {
  stream,  ///< re-read heartbeats (MGET) right before each UNLINK batch
  script,  ///< re-check and delete in one bounded Lua script per batch (atomic)
};

struct CleanupProgress {
  std::uint64_t keys_scanned = 0;
  std::uint64_t keys_total = 0;  ///< DBSIZE at the start
  std::uint64_t stale_found = 0;
  std::uint64_t keys_deleted = 0;
  std::string phase;             ///< "heartbeats" or "delete"
  double elapsed_s = 0;
};

struct CleanupOptions {
  /// A coordinator is stale when its heartbeat is older than this. Default 600 s.
  std::chrono::seconds threshold{600};
  /// Delete nothing; report exactly what would be deleted. Default off.
  bool dry_run = false;
  /// See CleanupMode. Default stream: measured ~1.8x less server CPU than script
  /// (README, "Measured"); script makes the re-check atomic.
  CleanupMode mode = CleanupMode::stream;
  KeySchema schema;
  /// Also delete family keys with no heartbeat key, if idle longer than the threshold.
  bool orphans = false;
  /// Pace the run so the server's CPU stays under this share of wall time (0: unpaced).
  double max_busy_percent = 0;
  /// When another cleanup holds the lock: wait for it (true) or return at once (false).
  bool wait_for_lock = false;
  /// SCAN COUNT per page. Each page is one bounded server call. Default 1000.
  std::size_t scan_count = 1000;
  /// Keys per delete batch (one UNLINK or one script call). Default 500.
  std::size_t batch_keys = 500;
  /// Delete batches in flight at once (pipelining depth). Default 8.
  std::size_t max_in_flight = 8;
  /// Stale coordinator ids listed in the report; the rest are counted. Default 100.
  std::size_t max_reported_ids = 100;
  /// Lock time-to-live; renewed every third of it while the run lasts. Default 30 s.
  std::chrono::milliseconds lock_ttl{30000};
  /// Append reaped coordinators to the capped stream swarmkeeper:reaped. Default on.
  bool audit = true;
  /// Called about ten times a second with the run's progress (from the run's thread).
  std::function<void(const CleanupProgress&)> on_progress;
  /// Called once, on the run's thread, right before the first delete batch is sent
  /// (coordinators were found stale, nothing is deleted yet). A seam for tests that
  /// change the world mid-run; blocking in it pauses the run.
  std::function<void()> before_first_delete;
};

struct CleanupReport {
  // The seeds' fields.
  std::uint64_t total_coordinators_checked = 0;
  std::uint64_t stale_coordinators_found = 0;
  /// Keys deleted (in a dry run: keys a real run would delete).
  std::uint64_t keys_deleted = 0;
  std::uint64_t execution_time_ms = 0;
  std::vector<std::string> stale_coordinator_ids;  ///< capped at max_reported_ids
  std::uint64_t stale_coordinator_ids_omitted = 0;
  // Ours.
  std::uint64_t active_coordinators = 0;
  std::uint64_t invalid_heartbeats = 0;
  std::uint64_t keys_scanned = 0;
  std::uint64_t keys_kept_ambiguous = 0;
  std::uint64_t renewed_during_run = 0;
  std::uint64_t orphan_keys_seen = 0;
  std::uint64_t orphans_deleted = 0;
  std::uint64_t coordinators_reaped = 0;
  double coordinators_per_sec = 0;
  std::string mode;     ///< the mode that actually ran: "stream" or "script"
  std::string recheck;  ///< "atomic-script" or "reread-before-unlink"
  bool dry_run = false;
  double redis_busy_ms = 0;  ///< server CPU (user+sys, INFO) during the run
  bool lock_busy = false;    ///< another cleanup held the lock: nothing was done
  std::vector<std::string> notes;   ///< fallbacks, skipped steps
  std::vector<std::string> errors;  ///< what went wrong mid-run (exit code 2)
};

/// Runs one cleanup. Fails (Result error) only when it cannot start: cannot connect,
/// authenticate, or the options are invalid. Failures after that are in
/// report.errors, with every count accurate up to that point.
Result<CleanupReport> run_cleanup(const ConnectionOptions& connection, const CleanupOptions& options);

}  // namespace swarmkeeper
