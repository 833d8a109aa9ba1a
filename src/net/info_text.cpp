// SPDX-License-Identifier: Apache-2.0
// info_text.cpp — see info_text.hpp.
#include "net/info_text.hpp"

#include <cstdlib>

#include "net/connection.hpp"

namespace swarmkeeper::net {

double InfoText::number(std::string_view field) const {
  auto it = fields.find(field);
  if (it == fields.end()) return 0;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  return end == it->second.c_str() ? 0 : v;
}

std::string_view InfoText::text(std::string_view field) const {
  auto it = fields.find(field);
  return it == fields.end() ? std::string_view{} : std::string_view(it->second);
}

InfoText parse_info(std::string_view text) {
  InfoText info;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    info.fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return info;
}

std::map<std::string, double> parse_info_list(std::string_view value) {
  std::map<std::string, double> out;
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view kv = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out[std::string(kv.substr(0, eq))] = std::strtod(std::string(kv.substr(eq + 1)).c_str(), nullptr);
  }
  return out;
}

double info_cpu_seconds(std::string_view info) {
  const InfoText i = parse_info(info);
  return i.number("used_cpu_sys") + i.number("used_cpu_user");
}

bool info_says_cluster(std::string_view info) {
  return parse_info(info).text("cluster_enabled") == "1";
}

boost::asio::awaitable<bool> is_cluster_node(Connection& conn) {
  bool cluster = false;
  if (auto info = co_await conn.exec(resp::Command("INFO").arg("cluster")); info && info->root().is_string())
    cluster = info_says_cluster(info->str());
  else if (auto ci = co_await conn.exec(resp::Command("CLUSTER").arg("INFO")); ci)
    cluster = true;
  co_return cluster;
}

}  // namespace swarmkeeper::net
