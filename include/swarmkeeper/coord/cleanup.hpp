// SPDX-License-Identifier: Apache-2.0
// cleanup.hpp — find coordinators whose heartbeat is stale and delete their keys.
//
// The guarantees (DESIGN.md, "Guarantees the cleanup keeps"):
//   - Never blocks Redis: every call is bounded (a SCAN page, a pipeline of heartbeat
//     reads of at most max_heartbeat_bytes each, a check-and-unlink over one batch);
//     deletion uses UNLINK.
//   - Never deletes what is alive: a key is unlinked only in the same atomic step that
//     confirms each of its owners' heartbeats is still the stale value the scan read
//     (byte for byte) and each other possible owner still has no heartbeat. By default
//     that step is a bounded script; where scripts are refused, WATCH/MULTI/EXEC; only
//     where both are refused a re-read right before the UNLINK, said loudly (report's
//     `recheck`, notes, log). Staleness is decided once, on the client, by
//     judge_heartbeat() (key_schema.hpp), to the millisecond. Ownership comes from the
//     key's structure (key_schema.hpp); a key that cannot be attributed is kept, counted.
//   - Streams: one SCAN pass; deletion starts while the scan runs; client memory grows
//     with coordinators (plus a bounded parking area, park_bytes), not keys.
//   - Restartable: a coordinator's heartbeat goes last, with its exact-name keys, so a
//     run cut short leaves every remaining key attributable; the next run finishes it.
//   - Reports truthfully: counts are what the server confirmed.
//
// How: src/coord/cleanup_plan.hpp (the rules, no I/O) and cleanup_engine.cpp (the
// driver: lock, scan, reads, batches, audit, pacing).
//
//   CleanupOptions o;  o.dry_run = true;
//   auto report = run_cleanup(connection_options, o);
//   if (!report) { ... cannot connect / authenticate ... }
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "swarmkeeper/coord/key_schema.hpp"
#include "swarmkeeper/error.hpp"
#include "swarmkeeper/net/connection_options.hpp"

namespace swarmkeeper {

/// How the delete step confirms owners are still stale.
enum class Recheck {
  automatic,    ///< script; where refused, transaction; where refused too, reread
  script,       ///< one bounded script per batch compares and unlinks (atomic)
  transaction,  ///< WATCH the heartbeats, compare, MULTI/UNLINK/EXEC (atomic; retried on conflict)
  /// Read the heartbeats, then UNLINK: NOT atomic (a renewal in between is missed). Only
  /// the last resort a run falls back to by itself when the server refuses both atomic
  /// ways, said loudly; asking for it is refused (invalid_argument): no option may make
  /// a delete non-atomic.
  reread,
};

struct CleanupProgress {
  std::uint64_t keys_scanned = 0;
  std::uint64_t keys_total = 0;  ///< DBSIZE at the start
  std::uint64_t stale_found = 0;
  std::uint64_t keys_deleted = 0;
  std::string phase;  ///< "scan", "delete", "orphans" or "heartbeats" (the final groups)
  double elapsed_s = 0;
};

struct CleanupOptions {
  /// A coordinator is stale when its heartbeat is older than this (by the server's
  /// clock, to the millisecond). Must be > 0. Default 600 s.
  std::chrono::milliseconds threshold{600000};
  /// Delete nothing; report exactly what would be deleted. Default off.
  bool dry_run = false;
  /// See Recheck. Default automatic (atomic wherever the server allows it).
  Recheck recheck = Recheck::automatic;
  KeySchema schema;
  /// Also delete family keys that name no coordinator at all (no liveness record, and
  /// no exact or id_prefix key naming it), when the timestamp they carry is older than
  /// the threshold. Keys without a timestamp are kept. Default off.
  bool orphans = false;
  /// Reap absent coordinators: no liveness record left while keys of their families
  /// remain (how a coordinator whose records carry TTLs dies). Their keys go once every
  /// timestamp they carry is older than the threshold; keys that carry none go once the
  /// coordinator has been seen absent, with the same such keys, for longer than the
  /// threshold across runs (the first run records it in swarmkeeper:absent and deletes
  /// none of them). Default on.
  bool absent = true;
  /// At most this many absent coordinators recorded in swarmkeeper:absent (each ~100
  /// bytes in Redis); past it new ones wait, counted and said. Default 1,000,000.
  std::size_t max_absent_records = 1000000;
  /// Pace the run so the server's CPU stays under this share of wall time (0: unpaced).
  double max_busy_percent = 0;
  /// When another cleanup holds the lock: wait for it (true) or return at once (false).
  bool wait_for_lock = false;
  /// SCAN COUNT per page. Each page is one bounded server call. Default 1000, at most 10000.
  std::size_t scan_count = 1000;
  /// Keys per delete batch (one check-and-unlink call). Default 500, at most 5000.
  std::size_t batch_keys = 500;
  /// Heartbeats longer than this are not read whole: counted invalid, left alone.
  /// Default 16 KiB (64 bytes to 16 MiB).
  std::size_t max_heartbeat_bytes = 16 * 1024;
  /// Memory for keys held back until their coordinator's final group, so each stale
  /// coordinator is confirmed once for most of its keys. Default 24 MiB.
  std::size_t park_bytes = 24u << 20;
  /// When set (e.g. by a signal handler), the run stops at the next step: batches in
  /// flight finish, the lock is released, the report carries the error. May be null.
  const std::atomic<bool>* stop = nullptr;
  /// Delete batches in flight at once (pipelining depth). Default 8, 1 to 64.
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
  /// On a cluster: called once, on the run's thread, inside the first batch's delete
  /// window — after the keys it deletes across slots were re-read and unlinked, before
  /// its atomic steps. A seam for tests that race the window.
  std::function<void()> inside_delete_window;
};

struct CleanupReport {
  // The reference report's fields.
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
  /// invalid_heartbeats by reason ("noField", "notJson", "notANumber", "tooLarge",
  /// "wrongType", "empty"), a few example keys, and what schema change would read them.
  std::vector<std::pair<std::string, std::uint64_t>> invalid_heartbeat_reasons;
  std::vector<std::string> invalid_heartbeat_examples;
  std::string invalid_heartbeat_hint;
  // Absent coordinators (CleanupOptions::absent).
  std::uint64_t absent_coordinators_found = 0;
  std::uint64_t absent_reaped_by_timestamps = 0;  ///< every key carried an old timestamp: all gone
  std::uint64_t absent_reaped_after_waiting = 0;  ///< had keys without one, seen absent long enough
  std::uint64_t absent_waiting = 0;          ///< kept this run: a young key, or not seen absent long enough
  std::uint64_t absent_recorded = 0;         ///< first seen absent now (a dry run: would be recorded)
  std::uint64_t absent_not_recorded = 0;     ///< past max_absent_records: wait for room
  std::uint64_t absent_records_removed = 0;  ///< records of ones alive again, reaped or gone
  std::uint64_t absent_keys_deleted = 0;     ///< of keys_deleted
  std::uint64_t absent_keys_waiting = 0;
  std::uint64_t keys_scanned = 0;
  /// Keys kept because their owner could not be settled: the structure allows several
  /// owners, or another possible owner appeared during the run.
  std::uint64_t keys_kept_ambiguous = 0;
  std::uint64_t renewed_during_run = 0;
  std::uint64_t orphan_keys_seen = 0;
  std::uint64_t orphans_deleted = 0;
  std::uint64_t coordinators_reaped = 0;
  double coordinators_per_sec = 0;
  std::string mode;  ///< the recheck that ran: "script", "transaction" or "reread"
  /// "atomic-script", "atomic-transaction" or "reread-before-unlink"; on a cluster where
  /// keys lived outside their heartbeat's slot, "atomic-per-slot, reread-across-slots".
  std::string recheck;
  /// The run failed with batches in flight: keys_deleted counts what was confirmed, and
  /// more may be gone.
  bool keys_deleted_lower_bound = false;
  bool dry_run = false;
  /// On a cluster: keys deleted right after their owner's heartbeat, in another slot,
  /// was re-read unchanged (not one atomic step; see recheck and the notes).
  std::uint64_t keys_deleted_across_slots = 0;
  /// On a cluster: coordinators whose heartbeat changed between that re-read and the
  /// UNLINK, seen by a read right after it: keys of theirs may be lost (said loudly).
  std::uint64_t renewed_in_delete_window = 0;
  /// On a cluster: masters scanned, and slots scanned again because they moved (or were
  /// moving) while their master was scanned.
  std::uint64_t cluster_masters = 0;
  std::uint64_t slots_rescanned = 0;
  double redis_busy_ms = 0;         ///< server CPU (user+sys, INFO) during the run
  bool lock_busy = false;           ///< another cleanup held the lock: nothing was done
  std::vector<std::string> notes;   ///< fallbacks, skipped steps
  std::vector<std::string> errors;  ///< what went wrong mid-run (exit code 2)
};

/// Runs one cleanup. Fails (Result error) only when it cannot start: cannot connect,
/// authenticate, or the options are invalid (invalid_argument: every bound documented
/// above is checked, NaN included). Failures after that are in
/// report.errors, with every count accurate up to that point.
Result<CleanupReport> run_cleanup(const ConnectionOptions& connection, const CleanupOptions& options);

}  // namespace swarmkeeper
