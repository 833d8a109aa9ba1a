// SPDX-License-Identifier: Apache-2.0
// heartbeat_values.hpp — THE table of heartbeat values and their verdicts, fed through
// judge_heartbeat() (heartbeat_rule_test.cpp) and through a whole cleanup on a real
// server (cleanup_test.cpp): both must agree with the table, value by value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "swarmkeeper/coord/key_schema.hpp"

namespace swarmkeeper::testing {

struct HeartbeatCase {
  std::string name;
  std::string value;  // "{OLD}" / "{NEW}" become a stale / fresh ms timestamp
  HeartbeatState verdict;
};

inline std::vector<HeartbeatCase> heartbeat_cases() {
  using S = HeartbeatState;
  return {
      {"json", R"({"coordinatorId":"x","timestamp":{OLD},"seq":1})", S::stale},
      {"json fresh", R"({"timestamp":{NEW}})", S::active},
      {"json with spaces", "  { \"timestamp\" :  {OLD} }  ", S::stale},
      {"string digits", R"({"timestamp":"{OLD}"})", S::stale},
      {"string with spaces", R"({"timestamp":" {OLD} "})", S::invalid},
      {"string hex", R"({"timestamp":"0x1A"})", S::invalid},
      {"string exponent", R"({"timestamp":"1e3"})", S::invalid},
      {"number exponent", R"({"timestamp":1.7e12})", S::stale},
      {"small number exponent", R"({"timestamp":1e3})", S::invalid},
      {"seconds, not milliseconds", R"({"timestamp":1700000000})", S::invalid},
      {"both fields: the youngest wins", R"({"timestamp":{OLD},"lastHeartbeat":{NEW}})", S::active},
      {"both fields: the youngest wins (stale)", R"({"lastHeartbeat":{OLD},"timestamp":{OLD}})", S::stale},
      {"lastHeartbeat", R"({"coordinatorId":"x","lastHeartbeat":{OLD},"sequence":3})", S::stale},
      {"float", R"({"timestamp":{OLD}.75})", S::stale},
      {"negative", R"({"timestamp":-5})", S::invalid},
      {"zero", R"({"timestamp":0})", S::invalid},
      {"huge", R"({"timestamp":99999999999999999999999})", S::invalid},
      {"future", R"({"timestamp":99999999999999})", S::active},
      {"duplicate field: last wins (fresh)", R"({"timestamp":{OLD},"timestamp":{NEW}})", S::active},
      {"duplicate field: last wins (stale)", R"({"timestamp":{NEW},"timestamp":{OLD}})", S::stale},
      {"empty", "", S::invalid},
      {"binary", std::string("\x00\xff\x01{", 4), S::invalid},
      {"not json", "yesterday", S::invalid},
      {"array", "[1,2]", S::invalid},
      {"null field", R"({"timestamp":null})", S::invalid},
      {"bool field", R"({"timestamp":true})", S::invalid},
      {"object field", R"({"timestamp":{"ms":1}})", S::invalid},
      {"missing field", R"({"seq":1})", S::invalid},
      {"trailing garbage", R"({"timestamp":{OLD}} x)", S::invalid},
      {"bare integer in json format", "{OLD}", S::invalid},
  };
}

inline std::string fill(std::string v, std::int64_t old_ms, std::int64_t new_ms) {
  for (auto [tag, ts] : {std::pair<const char*, std::int64_t>{"{OLD}", old_ms}, {"{NEW}", new_ms}})
    for (auto at = v.find(tag); at != std::string::npos; at = v.find(tag))
      v.replace(at, 5, std::to_string(ts));
  return v;
}

}  // namespace swarmkeeper::testing
