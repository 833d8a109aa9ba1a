// SPDX-License-Identifier: Apache-2.0
// cleanup_plan.hpp — the cleanup's safety rules as an I/O-free state machine.
//
// The driver (cleanup_engine.cpp) moves bytes; the plan decides. It is fed scan pages and
// the server's answers and returns the next commands to send, the verdicts and the
// counts. It never does I/O, so its rules are unit-tested without a server, including a
// randomized model test with heartbeat renewals between any two steps.
//
// The run, as the plan sees it:
//   1. Scan pages (on_page). Heartbeat keys are read (GETRANGE 0..max_heartbeat_bytes,
//      one command per key: a huge value is never read whole) and judged with THE
//      staleness rule (judge_heartbeat). A stale coordinator's entry keeps the SHA-1 of
//      the bytes read.
//   2. Family keys are attributed from their structure: kept at once if a possible
//      owner is alive or unreadable, or the structure allows several owners. A key with
//      exactly one stale owner is parked with it, so the owner is confirmed once for all
//      its keys; a key naming ids the table does not know yet waits until the table is
//      complete. Both are bounded by park_bytes: past that, the unknown candidates'
//      heartbeats are read with the page (on_reads) and the key is batched at once.
//   3. After the scan: attributes the waiting keys and re-attributes parked ones (an
//      owner found since makes a key multi-owner or ambiguous), then the final groups: per stale coordinator,
//      its parked keys, its exact-name keys and its heartbeat, last. A run cut short leaves every remaining
//      key attributable to a heartbeat, and the next run finishes it.
//
// Liveness (key_schema.hpp): a coordinator's id found by any of its liveness records
// (the heartbeat, the activity record) has all of them read at once and judged together:
// one fresh makes it active; else one unreadable makes it invalid (left alone); else it
// is stale, and the delete step checks every one of its liveness records (the bytes
// read, or still absent).
//
// Absent coordinators (PlanOptions::absent). After the scan, an exact, template or
// id_prefix key none of whose candidates the table knows names an *absent* coordinator
// (id_prefix: its first candidate). Their keys are read (find_absent / on_absent_values)
// for the timestamps they carry (key_schema.hpp: key_timestamp). Per absent coordinator:
//   - any key younger than the threshold (or in the future): nothing of it goes;
//   - otherwise its timestamped keys go (every timestamp it carries is old);
//   - its keys without a timestamp go only once a record the driver keeps in Redis
//     (kAbsentKey: first seen, and a fingerprint of those keys' names) says it has been
//     seen absent, with the same such keys, for longer than the threshold; the first
//     run that sees it asks the driver to write that record and deletes none of them.
// Each of those deletes checks, in the same atomic step, that none of the coordinator's
// liveness records exists and that a key read for its timestamp still holds the bytes
// read. A mentions key (idempotency) goes only if every coordinator it names is stale,
// or absent with that key allowed to go.
//
// Every deletion is a CheckedUnlink: a bounded set of heartbeat keys with what each
// must still be (the SHA-1 of the stale bytes read, or absent), and groups of keys that
// are unlinked only if all of their checks hold, in the same atomic step (scripts.hpp;
// or WATCH/MULTI/EXEC; or, where both are refused, a re-read right before the UNLINK).
// An unchanged stale heartbeat is still stale (time only moves on), so the server never
// judges a heartbeat: it only compares bytes. Anything else keeps the key.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coord/coordinator_table.hpp"
#include "swarmkeeper/coord/cleanup.hpp"
#include "swarmkeeper/coord/key_schema.hpp"

namespace swarmkeeper::coord {

/// The hash where the cleanup keeps when it first saw each absent coordinator with keys
/// that carry no timestamp: field id, value "<first seen, server ms>:<16-hex fingerprint>".
inline constexpr const char* kAbsentKey = "swarmkeeper:absent";

struct PlanOptions {
  KeySchema schema;
  /// Stale when now - timestamp > threshold_ms (server clock). > 0.
  std::int64_t threshold_ms = 600000;
  /// Family keys with no coordinator: deleted when the timestamp they carry is older
  /// than the threshold (never by idle time).
  bool orphans = false;
  /// Reap absent coordinators (no liveness record left). Default on.
  bool absent = true;
  /// Keys per CheckedUnlink. The server call stays bounded by this.
  std::size_t batch_keys = 500;
  /// Heartbeats longer than this are unreadable (invalid): never read whole.
  std::size_t max_heartbeat_bytes = 16 * 1024;
  /// Memory for keys parked with their stale owner until the final groups.
  std::size_t park_bytes = 24u << 20;
  std::size_t max_reported_ids = 100;
  /// On a cluster: the final groups go in the order of their heartbeat's slot, so that
  /// one per-slot atomic step holds several coordinators (not one each). Default off.
  bool slot_order = false;
};

/// One heartbeat read, as GETRANGE key 0 max answered.
struct HeartbeatRead {
  enum class Kind : std::uint8_t {
    value,        ///< bytes (longer than max_heartbeat_bytes: too big, invalid)
    empty,        ///< missing, or an empty string (GETRANGE cannot tell them apart)
    wrong_type,   ///< the key holds a hash, list, ...: unreadable
    unavailable,  ///< a cluster slot no master serves: unreadable now
  };
  Kind kind = Kind::empty;
  std::string_view bytes;
};

/// One atomic step: unlink each group's keys only if all of the group's checks hold.
struct CheckedUnlink {
  struct Group {
    std::vector<std::uint32_t> checks;  ///< indices into check_keys
    std::uint32_t keys = 0;             ///< how many of `keys` (in order) are this group's
    std::uint32_t credit = UINT32_MAX;  ///< coordinator the keys are booked to
    bool reap = false;                  ///< the group holds the coordinator's heartbeat
  };
  std::vector<std::string> check_keys;  ///< heartbeat keys
  std::vector<std::string> expect;      ///< per check: 40-hex SHA-1 of the bytes read, or "" (must not exist)
  std::vector<Group> groups;
  std::vector<std::string> keys;  ///< group by group
  bool orphans = false;           ///< keys with no owner (--orphans)
  std::size_t payload_bytes = 0;
};

/// What the server did with a CheckedUnlink.
struct UnlinkOutcome {
  std::uint64_t unlinked = 0;         ///< keys removed (dry run: keys that exist and would go)
  std::vector<std::uint32_t> failed;  ///< checks that did not hold (their groups were kept)
  std::vector<std::uint32_t> gone;    ///< of those, heartbeats that no longer exist (not renewals)
  std::vector<std::uint32_t> window;  ///< of those, checks found changed only after a non-atomic
                                      ///< UNLINK of their group's keys (counted in its window, not kept)
  bool contended = false;             ///< WATCH kept failing: nothing done, left for the next run
};

/// Keys with no owner, waiting for their values to be read (--orphans).
struct OrphanCandidates {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> absent;  ///< candidate ids that must still have no liveness record
};

/// One absent coordinator's record (kAbsentKey), as the plan wants it written.
struct AbsentRecordWrite {
  std::string id;
  std::string value;      ///< "<first seen ms>:<fingerprint>"
  bool replaces = false;  ///< the field exists (its keys changed): takes no new room
};

class CleanupPlan {
 public:
  explicit CleanupPlan(PlanOptions options);

  // --- 1. scan ---
  /// A page of scanned keys. Returns the heartbeat keys to read for it; the page is
  /// classified by on_reads(page, answers) — call it even when the list is empty.
  std::vector<std::string> on_page(std::uint64_t page, std::span<const std::string_view> keys);
  /// The answers to a page's reads, in order, read at server time now_ms.
  void on_reads(std::uint64_t page, std::span<const HeartbeatRead> reads, std::int64_t now_ms);

  // --- batches (any time) ---
  bool has_batch() const noexcept { return !ready_.empty(); }
  /// REQUIRES: has_batch().
  CheckedUnlink take_batch();
  /// Books what the server did with a batch taken from this plan.
  void on_outcome(const CheckedUnlink& batch, const UnlinkOutcome& outcome);

  // --- orphans (--orphans) ---
  bool has_orphans() const noexcept { return !orphans_.keys.empty(); }
  std::size_t orphan_backlog() const noexcept { return orphans_.keys.size(); }
  /// Up to batch_keys orphan candidates; the driver reads their values.
  OrphanCandidates take_orphans();
  /// reads[i]: the value of candidates.keys[i]. Queues a CheckedUnlink of those whose
  /// timestamp (key_timestamp) is older than the threshold, each checked to still hold
  /// the bytes read and to have no possible owner with a liveness record. A key with
  /// no timestamp is kept (an orphan's age is never taken from OBJECT IDLETIME: small
  /// integers such as "1" share one object and one idle clock).
  void on_orphan_values(const OrphanCandidates& candidates, std::span<const HeartbeatRead> reads,
                        std::int64_t now_ms);

  // --- absent coordinators (after the scan, before prefinal) ---
  /// Names the absent coordinators from the waiting keys and lists the keys whose
  /// values must be read for their timestamps. Call once, after end_scan().
  void find_absent(std::int64_t now_ms);
  bool has_absent_reads() const noexcept { return absent_read_next_ < absent_reads_.size(); }
  /// Up to max keys to read (GETRANGE 0 max_heartbeat_bytes), in order.
  std::vector<std::string> take_absent_reads(std::size_t max);
  /// The answers to the keys take_absent_reads() returned last, in order.
  void on_absent_values(std::span<const HeartbeatRead> reads);
  /// The absent coordinators whose keys without a timestamp need their record read.
  std::vector<std::string> absent_record_ids() const;
  /// values[i]: the record of ids[i] (nullptr: none). Decides which of those keys may
  /// go, and returns the records to write (new, or their keys changed); at most
  /// max_writes new ones (the rest wait, counted in absent_not_recorded; a changed one
  /// replaces its field and needs no room).
  std::vector<AbsentRecordWrite> on_absent_records(std::span<const std::string> ids,
                                                   std::span<const std::string* const> values,
                                                   std::size_t max_writes);
  /// Whether the record of id stays in kAbsentKey after this run (the coordinator is
  /// still absent with keys that carry no timestamp, not reaped).
  bool keep_absent_record(std::string_view id) const;

  // --- 3. after the scan (the driver waits for every batch in between) ---
  /// The scan is over: flushes the open batch and the open orphan list.
  void end_scan();
  /// Attributes the waiting keys on the complete table and re-attributes parked ones;
  /// keys that are no longer one stale owner's go into batches. Returns false when it
  /// stopped early because max_orphans orphans wait (take them, then call again).
  bool prefinal(std::size_t max_orphans = SIZE_MAX);
  /// The final groups: per stale coordinator, its parked and exact-name keys and heartbeat.
  /// Fills batches until max_ready are ready (bounded memory); true once all are queued.
  /// REQUIRES: prefinal() ran and its batches were settled.
  bool final_groups(std::size_t max_ready = SIZE_MAX);

  /// See PlanOptions::slot_order (the driver learns it is on a cluster after connecting).
  void set_slot_order(bool on) noexcept { o_.slot_order = on; }

  /// The counts so far (the driver adds timing, mode and errors).
  CleanupReport& report() noexcept { return rep_; }
  const CoordinatorTable& table() const noexcept { return table_; }
  std::uint64_t stale_seen() const noexcept { return stale_seen_; }
  /// Batches left for the next run because their heartbeats kept changing under WATCH.
  std::uint64_t contended_batches() const noexcept { return contended_; }
  std::size_t parked_keys() const noexcept { return parked_.size(); }
  /// Keys that found the park area full (batched at once instead).
  std::uint64_t unparked_keys() const noexcept { return unparked_; }
  /// Absent coordinators left alone because keys naming them found the park area full.
  std::uint64_t absent_incomplete() const noexcept { return absent_incomplete_; }
  /// Fills the report's coordinator counts and ids from the table (after the scan).
  void count_coordinators();
  /// Fills the report's absent counts (after the deletes).
  void count_absent();

 private:
  using Decision = Attribution;
  struct Page {
    std::vector<std::string> keys;  // family keys waiting for the reads
    std::vector<std::string> reads;
    std::vector<std::uint8_t> read_is_heartbeat;  // scanned heartbeat key (else: a candidate)
  };
  struct Parked {          // 12 bytes
    std::uint32_t next;    // the next key in the same list, or UINT32_MAX
    std::uint32_t offset;  // into parked_bytes_ (park_bytes keeps it below 4 GiB)
    std::uint16_t size;
    std::uint8_t family;
    std::uint8_t settled;  // verdict final when parked: no re-attribution needed
  };
  // An absent coordinator's tally of its keys (find_absent, on_absent_values).
  struct AbsentInfo {
    std::int64_t youngest_ms = 0;  // the youngest timestamp a key of it carries
    std::uint64_t untimed_fp = 0;  // names of its keys without a timestamp, hashed and added
    std::uint32_t untimed = 0, timed = 0, untimed_own = 0;
    bool young = false;           // a key carries a timestamp within the threshold (or ahead)
    bool untimed_may_go = false;  // its record is old enough, with the same fingerprint
    std::uint32_t waiting = 0;    // keys kept this run
  };
  enum KeyTime : std::uint8_t { kUnknown = 0, kTimed = 1, kUntimed = 2 };

  void decide(std::string_view key, const KeyFamily& family, Decision& out);
  void classify(std::string_view key, bool may_park);
  void book(std::string_view key, const KeyFamily& family, const Decision& d, bool may_park);
  bool hold(std::string_view key, const KeyFamily& family);
  bool park(std::string_view key, const KeyFamily& family, std::uint32_t owner, bool settled);
  bool park_room(std::size_t key_size) const;
  void add_group(const Decision& d, std::span<const std::string_view> keys, std::uint32_t credit, bool reap);
  // The checks that keep a coordinator's keys: each liveness record as read (stale), or
  // none of them existing (absent, unknown candidates).
  void owner_checks(std::uint32_t owner, const std::function<void(std::string, std::string)>& check);
  void absent_checks(std::string_view id, const std::function<void(std::string, std::string)>& check);
  // For a key whose owners include absent coordinators: may it go now? (book() keeps it
  // otherwise, counted as waiting.) time: how the key's timestamp was found.
  bool absent_may_go(const Decision& d, KeyTime time);
  bool has_absent_owner(const Decision& d) const;
  std::optional<std::string_view> liveness_id(std::string_view key) const;
  void note_overflow();
  // Every absent coordinator key's name could mean counts as young (its age is unknown).
  void mark_young(std::string_view key, const KeyFamily& family);
  // own_value: the key is the coordinator's own (not a mentions record), with this value.
  void tally_absent_key(std::string_view key, const Decision& d, std::optional<std::int64_t> ts,
                        const std::string* own_value);
  void flush_open();
  // The whole key of a parked entry, rebuilt in scratch_: valid until the next call.
  std::string_view parked_key(const Parked& p) {
    scratch_.assign(o_.schema.families[p.family].prefix);
    scratch_.append(parked_bytes_, p.offset, p.size);
    return scratch_;
  }

  // A coordinator's final group stays one bounded call: at most this many parked keys.
  static constexpr std::uint16_t kMaxParkedPerCoordinator = 64;
  static constexpr std::size_t kMaxPayloadBytes = 1u << 20;
  static constexpr std::size_t kMaxChecks = 256;  // heartbeat checks per batch (WATCH is O(n^2))
  static constexpr std::size_t kMaxParkedCandidates = 4;

  PlanOptions o_;
  std::vector<LivenessRecord> live_;  // the heartbeat first
  // Digests of a stale coordinator's liveness records after the heartbeat (Coordinator::more_digests).
  std::vector<std::array<std::uint8_t, 20>> more_digests_;
  std::array<std::uint64_t, kInvalidReasons> invalid_reasons_{};
  // Absent coordinators: their tallies; keys waiting for their values (parked indices);
  // per parked index: KeyTime, and the digest of the value read (checked at delete).
  absl::flat_hash_map<std::uint32_t, AbsentInfo> absent_;
  std::vector<std::uint32_t> absent_reads_;
  std::size_t absent_read_next_ = 0, absent_read_from_ = 0;
  std::int64_t absent_now_ms_ = 0;
  absl::flat_hash_map<std::uint32_t, std::uint8_t> key_time_;
  absl::flat_hash_map<std::uint32_t, std::array<std::uint8_t, 20>> key_digest_;
  absl::flat_hash_set<std::uint32_t> evidence_only_;  // read only as a sign of life (kept whatever)
  absl::flat_hash_set<std::uint64_t> overflow_ids_;   // ids named by keys past the park area (hashed)
  // The parked entry being booked (its KeyTime and digest apply), or UINT32_MAX.
  std::uint32_t booking_ = UINT32_MAX;
  // Content checks for the next add_group: (key, 40-hex SHA-1 it must still hold).
  std::vector<std::pair<std::string, std::string>> extra_checks_;
  // Keys of absent coordinators allowed to go: (credited coordinator, parked index).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> absent_defer_;
  std::vector<std::pair<std::string, std::string>> pending_own_checks_;  // flush_absent_groups()
  // One group per absent coordinator (bounded chunks): every key's checks together, so
  // a key that changed since it was read keeps all of them.
  void flush_absent_groups();
  bool filling_orphans_ = false;
  bool hold_flush_ = false;
  bool batch_full() const noexcept {
    return open_.keys.size() + open_.check_keys.size() >= o_.batch_keys ||
           open_.check_keys.size() >= kMaxChecks || open_.payload_bytes >= kMaxPayloadBytes;
  }
  // Parked keys name at most this many ids (cands_ of the last decide()), so that a
  // coordinator's final groups stay a bounded call.
  bool few_candidates() const noexcept { return cands_.size() <= kMaxParkedCandidates; }
  CoordinatorTable table_;
  CleanupReport rep_;
  std::uint64_t stale_seen_ = 0, contended_ = 0, unparked_ = 0, absent_incomplete_ = 0;
  absl::flat_hash_map<std::uint64_t, Page> pages_;
  // Parked keys: per coordinator a linked list (Coordinator::parked) into parked_.
  std::vector<Parked> parked_;
  std::string parked_bytes_;  // parked keys without their family prefix
  std::string scratch_;
  std::uint32_t waiting_ = UINT32_MAX;  // keys whose owner was not known yet (a list in parked_)
  std::uint32_t final_next_ = 0;        // the next coordinator final_groups() looks at (in order_)
  std::vector<std::uint32_t> order_;    // coordinators in the order final_groups() visits them
  bool lists_settled_ = false;          // prefinal() re-attributed the parked lists
  // The batch being filled.
  CheckedUnlink open_;
  absl::flat_hash_map<std::string, std::uint32_t> open_checks_;
  std::deque<CheckedUnlink> ready_;
  OrphanCandidates orphans_;
  std::vector<std::string_view> cands_;  // reused
  Decision decision_;                    // reused
};

/// 40-hex SHA-1 of bytes (what redis.sha1hex returns).
std::string sha1_hex(std::string_view bytes);
/// The 20-byte SHA-1 of bytes.
std::array<std::uint8_t, 20> sha1(std::string_view bytes);
/// Lower-case hex of bytes (two characters each).
std::string hex(std::span<const std::uint8_t> bytes);

}  // namespace swarmkeeper::coord
