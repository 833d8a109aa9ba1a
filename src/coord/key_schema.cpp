// key_schema.cpp — schema defaults, schema files, heartbeat parsing (see the header).
#include "swarmkeeper/key_schema.hpp"

#include <simdjson.h>

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>

namespace swarmkeeper {

std::optional<std::string_view> KeySchema::heartbeat_id(std::string_view key) const {
  if (key.size() <= heartbeat_prefix.size() || key.substr(0, heartbeat_prefix.size()) != heartbeat_prefix)
    return std::nullopt;
  return key.substr(heartbeat_prefix.size());
}

const KeyFamily* KeySchema::family_of(std::string_view key) const {
  const KeyFamily* best = nullptr;
  for (const KeyFamily& f : families)
    if (key.size() > f.prefix.size() && key.compare(0, f.prefix.size(), f.prefix) == 0 &&
        (best == nullptr || f.prefix.size() > best->prefix.size()))
      best = &f;
  return best;
}

std::string KeySchema::common_prefix() const {
  std::string p = heartbeat_prefix;
  for (const KeyFamily& f : families) {
    std::size_t n = 0;
    while (n < p.size() && n < f.prefix.size() && p[n] == f.prefix[n]) ++n;
    p.resize(n);
  }
  return p;
}

Result<void> KeySchema::validate() const {
  if (heartbeat_prefix.empty()) return Error(Errc::invalid_argument, "schema: heartbeat.prefix is empty");
  for (const KeyFamily& f : families) {
    if (f.prefix.empty()) return Error(Errc::invalid_argument, "schema: family '" + f.name + "' has an empty prefix");
    if (f.prefix.compare(0, heartbeat_prefix.size(), heartbeat_prefix) == 0 ||
        heartbeat_prefix.compare(0, f.prefix.size(), f.prefix) == 0)
      return Error(Errc::invalid_argument, "schema: family '" + f.name + "' prefix '" + f.prefix +
                                               "' overlaps the heartbeat prefix '" + heartbeat_prefix + "'");
  }
  return {};
}

std::string glob_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Result<KeySchema> load_key_schema(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(Errc::invalid_argument, "cannot read schema file '" + path + "'");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    return Error(Errc::invalid_argument, "schema file '" + path + "' is not valid JSON: " + e.what());
  }
  KeySchema s;
  auto bad = [&](const std::string& what) { return Error(Errc::invalid_argument, "schema file '" + path + "': " + what); };
  try {
    if (j.contains("heartbeat")) {
      const auto& h = j.at("heartbeat");
      if (h.contains("prefix")) s.heartbeat_prefix = h.at("prefix").get<std::string>();
      if (h.contains("field")) s.heartbeat_field = h.at("field").get<std::string>();
      if (h.contains("format")) {
        const auto f = h.at("format").get<std::string>();
        if (f == "json") s.heartbeat_format = HeartbeatFormat::json_ms;
        else if (f == "ms") s.heartbeat_format = HeartbeatFormat::integer_ms;
        else if (f == "s") s.heartbeat_format = HeartbeatFormat::integer_s;
        else return bad("heartbeat.format '" + f + "' is not one of json, ms, s");
      }
    }
    if (j.contains("families")) {
      s.families.clear();
      for (const auto& f : j.at("families")) {
        KeyFamily fam;
        fam.name = f.value("name", std::string("unnamed"));
        fam.prefix = f.at("prefix").get<std::string>();
        const auto m = f.value("match", std::string("exact"));
        if (m == "exact") fam.match = KeyFamily::Match::exact;
        else if (m == "id_prefix") fam.match = KeyFamily::Match::id_prefix;
        else if (m == "mentions") fam.match = KeyFamily::Match::mentions;
        else return bad("family '" + fam.name + "' match '" + m + "' is not one of exact, id_prefix, mentions");
        const auto sep = f.value("separator", std::string(":"));
        if (sep.size() != 1) return bad("family '" + fam.name + "' separator must be one character");
        fam.separator = sep[0];
        s.families.push_back(std::move(fam));
      }
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  if (auto v = s.validate(); !v) return bad(v.error().message());
  return s;
}

namespace {

std::optional<std::int64_t> parse_integer(std::string_view v) {
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return out;
}

std::optional<std::int64_t> parse_json_timestamp(std::string_view value, const std::string& field) {
  // simdjson reads past the end of its input: parse from a padded copy (values are small).
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  padded.assign(value);
  padded.resize(value.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded.data(), value.size(), padded.size()).get(doc)) return std::nullopt;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return std::nullopt;
  simdjson::ondemand::value ts;
  if (obj.find_field_unordered(field).get(ts)) return std::nullopt;
  simdjson::ondemand::json_type type;
  if (ts.type().get(type)) return std::nullopt;
  if (type == simdjson::ondemand::json_type::number) {
    std::int64_t i = 0;
    if (!ts.get_int64().get(i)) return i;
    double d = 0;
    if (!ts.get_double().get(d) && d > -9.2e18 && d < 9.2e18) return static_cast<std::int64_t>(d);
    return std::nullopt;
  }
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view s;
    if (ts.get_string().get(s)) return std::nullopt;
    return parse_integer(s);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> parse_heartbeat(std::string_view value, const KeySchema& schema) {
  switch (schema.heartbeat_format) {
    case HeartbeatFormat::integer_ms: return parse_integer(value);
    case HeartbeatFormat::integer_s: {
      auto s = parse_integer(value);
      if (!s || *s > INT64_MAX / 1000 || *s < INT64_MIN / 1000) return std::nullopt;
      return *s * 1000;
    }
    case HeartbeatFormat::json_ms: return parse_json_timestamp(value, schema.heartbeat_field);
  }
  return std::nullopt;
}

}  // namespace swarmkeeper
