// server_info.hpp — figures read from Redis' INFO text.
#pragma once

#include <charconv>
#include <string_view>

namespace swarmkeeper::coord {

/// used_cpu_sys + used_cpu_user from an INFO (or INFO cpu) reply, in seconds; 0 if absent.
inline double info_cpu_seconds(std::string_view info) {
  double total = 0;
  for (std::string_view field : {"used_cpu_sys:", "used_cpu_user:"}) {
    auto at = info.find(field);
    if (at == std::string_view::npos) continue;
    at += field.size();
    const auto end = info.find_first_of("\r\n", at);
    double v = 0;
    std::from_chars(info.data() + at, info.data() + (end == std::string_view::npos ? info.size() : end), v);
    total += v;
  }
  return total;
}

}  // namespace swarmkeeper::coord
