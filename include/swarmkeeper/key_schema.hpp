// key_schema.hpp — which keys belong to which coordinator, and how heartbeats read.
//
// The default schema is the seeds' layout:
//   heartbeat    blocking:heartbeat:{id}          JSON {"timestamp": <ms>, ...}
//   signal       blocking:signal:{id}             exact: the rest of the key is the id
//   ack          blocking:ack:{id}:{agent}        id_prefix: the id, a ':', anything
//   idempotency  blocking:idempotency:...{id}...  mentions: ':'-separated tokens, some
//                                                 run of which names each coordinator
//   activity     coordinator:activity:{id}        exact
//
// Ownership is decided from the key's structure and the set of known coordinator ids
// (those with a heartbeat key), never from a glob or substring built from an id:
//   - exact: the suffix is the id.
//   - id_prefix: every split of the suffix at a separator whose left part is a known
//     id is a candidate; one candidate owns the key, several make it ambiguous.
//   - mentions: every run of consecutive tokens equal to a known id names that
//     coordinator; the key belongs to all of them (deleted only if all are stale).
// Ids may contain any bytes (`*`, `?`, `[`, `:`, spaces, UTF-8) and be prefixes of
// one another: "coord-1" never claims "blocking:ack:coord-10:agent".
//
// A schema file (JSON) may change prefixes, the heartbeat format and add families:
//   {"heartbeat": {"prefix": "blocking:heartbeat:", "format": "json", "field": "timestamp"},
//    "families": [{"name": "signal", "prefix": "blocking:signal:", "match": "exact"},
//                 {"name": "ack", "prefix": "blocking:ack:", "match": "id_prefix", "separator": ":"}]}
// heartbeat.format: "json" (field holds ms), "ms" or "s" (the value is an integer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/glob.hpp"  // glob_escape, for MATCH patterns built from prefixes

namespace swarmkeeper {

enum class HeartbeatFormat { json_ms, integer_ms, integer_s };

struct KeyFamily {
  enum class Match { exact, id_prefix, mentions };
  std::string name;
  std::string prefix;
  Match match = Match::exact;
  char separator = ':';
};

struct KeySchema {
  std::string heartbeat_prefix = "blocking:heartbeat:";
  HeartbeatFormat heartbeat_format = HeartbeatFormat::json_ms;
  /// JSON field holding the millisecond timestamp (json_ms only).
  std::string heartbeat_field = "timestamp";
  std::vector<KeyFamily> families = {
      {"signal", "blocking:signal:", KeyFamily::Match::exact, ':'},
      {"ack", "blocking:ack:", KeyFamily::Match::id_prefix, ':'},
      {"idempotency", "blocking:idempotency:", KeyFamily::Match::mentions, ':'},
      {"activity", "coordinator:activity:", KeyFamily::Match::exact, ':'},
  };

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

/// Heartbeat timestamp in milliseconds, or nullopt when the value cannot be read in
/// the schema's format (the coordinator then counts as an invalid heartbeat). The rule:
///   json: an object whose field (the last one, if it repeats) is a JSON number
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

/// THE staleness rule: the cleanup, its dry run and the monitor's census all decide with
/// this one function (the server never judges: it only confirms a value is unchanged).
/// Stores the parsed timestamp (0 if unreadable) in *timestamp_ms when given.
HeartbeatState judge_heartbeat(std::string_view value, const KeySchema& schema, std::int64_t now_ms,
                               std::int64_t threshold_ms, std::int64_t* timestamp_ms = nullptr);

}  // namespace swarmkeeper
