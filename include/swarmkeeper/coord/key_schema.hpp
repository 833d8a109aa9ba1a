// SPDX-License-Identifier: Apache-2.0
// key_schema.hpp — which keys belong to which coordinator, what keeps one alive, and
// how timestamps read.
//
// The default schema reads the reference layout and the orchestrator's real one:
//   heartbeat    blocking:heartbeat:{id}          JSON {"timestamp"|"lastHeartbeat": <ms>, ...}
//   activity     coordinator:activity:{id}        exact; liveness: JSON {"lastActivity": <ms>}
//                                                 or a plain millisecond number
//   signal       blocking:signal:{id}             exact: the rest of the key is the id
//   ack          blocking:ack:{id}:{signal}       id_prefix: the id, a ':', anything
//   idempotency  blocking:idempotency:...{id}...  mentions: ':'-separated tokens, some
//                                                 run of which names each coordinator
//   swarm        swarm:{*}:blocking:{id}          a template: {*} is one ':'-free segment
//                                                 (other swarm:* keys are no family's)
//
// Liveness. A coordinator is alive while any of its liveness records (the heartbeat and
// every family marked liveness, all exact-name keys derived from its id) holds a
// timestamp within the threshold. With none fresh and one stale, it is stale; with none
// at all while keys of its families remain, it is *absent* (cleanup_plan.hpp: reaped
// by the timestamps its keys carry, or after being seen absent across runs).
//
// Ownership is decided from the key's structure and the set of known coordinator ids
// (those with a liveness record, or absent ones named by exact and id_prefix keys),
// never from a glob or substring built from an id:
//   - exact: the suffix is the id.
//   - id_prefix: every split of the suffix at a separator whose left part is a known
//     id is a candidate; one candidate owns the key, several make it ambiguous.
//   - mentions: every run of consecutive tokens equal to a known id names that
//     coordinator; the key belongs to all of them (deleted only if all are dead).
// Ids may contain any bytes (`*`, `?`, `[`, `:`, spaces, UTF-8) and be prefixes of
// one another: "coord-1" never claims "blocking:ack:coord-10:agent".
//
// A family is a prefix, or a template: literal text, any number of "{*}" (one segment
// free of the family's separator) each followed by literal text, and "{id}" last; the
// match rule applies to what {id} covers. "swarm:{*}:blocking:{id}" owns
// swarm:s1:blocking:c1 (id c1) and not swarm:state:s1.
//
// A schema file (JSON) may change prefixes, the timestamp formats and add families:
//   {"heartbeat": {"prefix": "blocking:heartbeat:", "format": "json", "fields": ["timestamp",
//   "lastHeartbeat"]},
//    "families": [{"name": "signal", "prefix": "blocking:signal:", "match": "exact"},
//                 {"name": "activity", "prefix": "coordinator:activity:", "liveness": true,
//                  "format": "auto", "fields": ["lastActivity"]},
//                 {"name": "swarm", "template": "swarm:{*}:blocking:{id}"},
//                 {"name": "ack", "prefix": "blocking:ack:", "match": "id_prefix", "separator": ":"}],
//    "keyTimestampFields": ["timestamp", "lastActivity", "startTime"]}
// format: "json" (the youngest of `fields` present holds ms), "ms" or "s" (the value is
// an integer), "auto" (plain digits: ms; else json). "field": "x" is "fields": ["x"].
// A millisecond timestamp below 10^12 (before 2001: seconds, a counter) is unreadable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/client/glob.hpp"  // glob_escape, for MATCH patterns built from prefixes
#include "swarmkeeper/error.hpp"

namespace swarmkeeper {

enum class HeartbeatFormat {
  json_ms,     ///< a JSON object; the youngest of the fields present holds ms
  integer_ms,  ///< plain decimal digits: ms
  integer_s,   ///< plain decimal digits: seconds
  json_or_ms,  ///< plain digits: ms; anything else: json_ms
};

/// Why a liveness value could not be read (the report breaks invalid heartbeats down).
enum class InvalidReason : std::uint8_t {
  none,
  not_json,          ///< not one JSON object
  no_field,          ///< JSON, but none of the fields is there
  not_a_number,      ///< the field (or the whole value) is not a positive integer
  too_large,         ///< longer than the cleanup reads (max_heartbeat_bytes)
  wrong_type,        ///< not a string: a hash, list, ...
  empty,             ///< an empty string
  unavailable,       ///< its slot is served by no master (a cluster): not readable now
  not_milliseconds,  ///< a millisecond timestamp before 2001 (below 10^12): seconds, a counter
};
inline constexpr std::size_t kInvalidReasons = 9;
/// "notJson", "noField", "notANumber", "tooLarge", "wrongType", "empty", "unavailable",
/// "notMilliseconds" ("" for none).
const char* invalid_reason_name(InvalidReason r);

struct KeyFamily {
  enum class Match { exact, id_prefix, mentions };
  std::string name;
  /// The literal start of every key (a template's text before its first hole).
  std::string prefix;
  Match match = Match::exact;
  char separator = ':';
  /// A template's wildcards: per "{*}", the literal text that follows it (starts with
  /// the separator, e.g. ":blocking:"). Empty: a plain prefix family.
  std::vector<std::string> after_wildcards;
  /// A liveness record (exact only, no wildcards): one fresh value keeps its coordinator.
  bool liveness = false;
  HeartbeatFormat format = HeartbeatFormat::json_or_ms;
  std::vector<std::string> fields;  ///< json: the timestamp fields, first present wins

  /// Keys of this family can be built from an id (exact, no wildcards).
  bool derivable() const noexcept { return match == Match::exact && after_wildcards.empty(); }
  /// The part of key the match rule reads ({id} and what follows), or nullopt when the
  /// key does not fit the prefix or template.
  std::optional<std::string_view> id_part(std::string_view key) const;
  /// The template as written ("swarm:{*}:blocking:{id}"), or the prefix + "{id}".
  std::string pattern() const;
};

/// One liveness record of a coordinator: its key is prefix + id.
struct LivenessRecord {
  std::string prefix;
  HeartbeatFormat format = HeartbeatFormat::json_ms;
  std::vector<std::string> fields;
};

struct KeySchema {
  std::string heartbeat_prefix = "blocking:heartbeat:";
  HeartbeatFormat heartbeat_format = HeartbeatFormat::json_ms;
  /// JSON fields that may hold the millisecond timestamp (json formats): the youngest
  /// present wins. The orchestrator writes lastHeartbeat, its test harness timestamp.
  std::vector<std::string> heartbeat_fields = {"timestamp", "lastHeartbeat"};
  std::vector<KeyFamily> families = default_families();
  /// JSON fields of a family key's value that carry when it was written (the youngest
  /// present counts); a key's name ending in a 13-digit millisecond field carries one too.
  std::vector<std::string> key_timestamp_fields = {"timestamp",     "lastActivity", "startTime",
                                                   "lastHeartbeat", "createdAt",    "updatedAt"};

  static std::vector<KeyFamily> default_families();
  /// The liveness records, the heartbeat first (at most 8).
  std::vector<LivenessRecord> liveness() const;

  /// The heartbeat key of a coordinator.
  std::string heartbeat_key(std::string_view id) const { return heartbeat_prefix + std::string(id); }
  /// The id of a heartbeat key, or nullopt if key is not a heartbeat key.
  std::optional<std::string_view> heartbeat_id(std::string_view key) const;
  /// The family a key belongs to (longest matching prefix), or nullptr.
  const KeyFamily* family_of(std::string_view key) const;
  /// The common prefix of every family and the heartbeat prefix ("" if none): scans can
  /// ask the server for MATCH <prefix>* only.
  std::string common_prefix() const;

  /// Checks the schema for mistakes (empty or overlapping prefixes, ...).
  Result<void> validate() const;
};

/// Reads a schema from a JSON file. Errors name the file and the field at fault.
Result<KeySchema> load_key_schema(const std::string& path);

/// A timestamp read from a liveness value: the milliseconds, or why there are none.
struct ParsedTimestamp {
  std::optional<std::int64_t> ms;
  InvalidReason reason = InvalidReason::none;  ///< set when ms is empty
};
/// Reads a liveness value in `format` with `fields` (the rule of parse_heartbeat).
ParsedTimestamp parse_timestamp(std::string_view value, HeartbeatFormat format,
                                const std::vector<std::string>& fields);

/// The youngest timestamp a family key carries (ms, 13 digits), or nullopt: a mentions
/// key's last separator-delimited field when that is 13 plain digits, and, with a value,
/// the schema's key_timestamp_fields of a JSON object (numbers or digit strings).
std::optional<std::int64_t> key_timestamp(std::string_view key, const std::string* value,
                                          const KeySchema& schema);

/// The fields of a JSON object value whose values look like millisecond timestamps (a
/// number or digit string of 13 digits), in order.
std::vector<std::string> millisecond_fields(std::string_view value);

/// What schema change would read a heartbeat value that did not read for `reason`, in
/// one sentence ("" when there is nothing to suggest).
std::string schema_hint(std::string_view value, InvalidReason reason);

/// Heartbeat timestamp in milliseconds, or nullopt when the value cannot be read in
/// the schema's format (the coordinator then counts as an invalid heartbeat). The rule:
///   json: an object whose present fields (the last occurrence, if one repeats; the youngest
///         of them wins) are each a JSON number
///         (integer, or fraction/exponent truncated toward zero) or a string of plain
///         decimal digits ("12"; not " 12 ", "0x1A", "1e3", "-5");
///   ms/s: the whole value is plain decimal digits.
/// Zero, negative and out-of-range timestamps are unreadable, not old.
std::optional<std::int64_t> parse_heartbeat(std::string_view value, const KeySchema& schema);

/// What one heartbeat value says of its coordinator at server time now_ms.
enum class HeartbeatState : std::uint8_t {
  active,   ///< within the threshold, or in the future
  stale,    ///< older than the threshold: now - timestamp > threshold
  invalid,  ///< unreadable: the coordinator is left alone
};

/// One liveness value judged: the state, its timestamp (0 if unreadable) and, when
/// invalid, why.
struct LivenessVerdict {
  HeartbeatState state = HeartbeatState::invalid;
  std::int64_t timestamp_ms = 0;
  InvalidReason reason = InvalidReason::none;
};
/// THE staleness rule for any liveness record (judge_heartbeat is it for the heartbeat).
LivenessVerdict judge_liveness(std::string_view value, HeartbeatFormat format,
                               const std::vector<std::string>& fields, std::int64_t now_ms,
                               std::int64_t threshold_ms);

/// THE staleness rule: the cleanup, its dry run and the monitor's census all decide with
/// this one function (the server never judges: it only confirms a value is unchanged).
/// Stores the parsed timestamp (0 if unreadable) in *timestamp_ms when given.
HeartbeatState judge_heartbeat(std::string_view value, const KeySchema& schema, std::int64_t now_ms,
                               std::int64_t threshold_ms, std::int64_t* timestamp_ms = nullptr);

}  // namespace swarmkeeper
