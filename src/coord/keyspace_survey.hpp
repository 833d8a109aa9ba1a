// SPDX-License-Identifier: Apache-2.0
// keyspace_survey.hpp — what is in an operator's Redis, as `swarmkeeper inspect` tells
// it: key shapes with their counts, types, TTLs and value formats, which shapes the key
// schema claims, heartbeats it cannot read and why, and a schema that reads the layout
// found. No I/O: the driver (cli/inspect.cpp) feeds it scanned keys, then the samples it
// read for each shape.
//
// A key's shape: its ':'-separated fields, each kept as written or abstracted to "*"
// when it holds a digit, is longer than 32 bytes, or is one of more than 16 different
// values seen after the same fields ("swarm:{alpha,beta,...}" becomes "swarm:*"). So
// blocking:ack:coord-7:sig-2 and blocking:ack:coord-9:sig-1 are one shape,
// blocking:ack:*:*. At most kMaxShapes shapes are kept; keys past that are counted.
//
//   KeyspaceSurvey s(schema, threshold_ms);
//   for (key : scan) s.on_key(key);
//   for (key : s.sample_keys()) s.on_sample(key, type, pttl_ms, value);
//   s.finish(now_ms);  ...  s.report_json(), s.report_text(), s.suggest_schema()
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarmkeeper/coord/key_schema.hpp"

namespace swarmkeeper::coord {

struct ShapeStats {
  std::string shape;  ///< "blocking:ack:*:*"
  std::uint64_t keys = 0;
  std::string claimed_by;  ///< "heartbeat", a family's name, "swarmkeeper" (ours) or "" (no family's): most
                           ///< of its keys'
  bool liveness = false;
  std::map<std::string, std::uint64_t> claims;  ///< keys per claim (a shape's keys may fall to several)
  std::vector<std::string> samples;             ///< up to kSamplesPerShape keys, the first seen
  // From the samples:
  std::map<std::string, std::uint64_t> types;  ///< TYPE answers
  std::uint64_t with_ttl = 0, without_ttl = 0;
  std::int64_t ttl_min_ms = 0, ttl_max_ms = 0;
  std::uint64_t json = 0, integer = 0, text = 0;  ///< string values by format
  std::vector<std::string> ms_fields;             ///< JSON fields holding millisecond timestamps
  std::uint64_t key_name_ms = 0;                  ///< samples whose name ends in a 13-digit ms field
  std::array<std::uint64_t, kInvalidReasons> unreadable{};  ///< liveness values that do not read, by reason
  std::string hint;                                         ///< what schema change would read them
};

class KeyspaceSurvey {
 public:
  static constexpr std::size_t kMaxShapes = 2000;
  static constexpr std::size_t kSamplesPerShape = 32;

  KeyspaceSurvey(KeySchema schema, std::int64_t threshold_ms)
      : schema_(std::move(schema)), threshold_ms_(threshold_ms) {}

  void on_key(std::string_view key);
  /// Keys to read (TYPE, PTTL, GETRANGE 0 4095) for the samples, shape by shape.
  std::vector<std::string> sample_keys() const;
  /// One sample: TYPE's answer, PTTL's (-1: none, -2: gone), the value when a string.
  void on_sample(std::string_view key, std::string_view type, std::int64_t pttl_ms, const std::string* value,
                 std::int64_t now_ms);
  /// After the scan, before the samples: merges shapes whose fields were collapsed to
  /// "*" after they were first seen.
  void finish();

  /// The shapes, most keys first.
  std::vector<const ShapeStats*> shapes() const;
  std::uint64_t keys_seen() const noexcept { return keys_; }
  std::uint64_t keys_past_shape_cap() const noexcept { return past_cap_; }

  nlohmann::ordered_json report_json() const;
  std::string report_text() const;
  /// A schema file (JSON) that reads the layout found: the current schema, with the
  /// heartbeat's fields and format as its values show, and a family for each shape no
  /// family claims whose fields hold coordinator ids (ids: the fields a heartbeat or
  /// liveness shape varies in). Passes load_key_schema.
  nlohmann::ordered_json suggest_schema() const;

 private:
  // The shape of a key's fields; learn: count the literals seen (collapsing past 16).
  std::string abstract(const std::vector<std::string_view>& fields, bool learn);

  KeySchema schema_;
  std::int64_t threshold_ms_;
  std::uint64_t keys_ = 0, past_cap_ = 0;
  absl::flat_hash_map<std::string, ShapeStats> shapes_;
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
      seen_after_;                              // prefix -> literals after it
  absl::flat_hash_set<std::string> collapsed_;  // prefixes whose next field is "*"
};

}  // namespace swarmkeeper::coord
