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
  if (families.size() > 200) return Error(Errc::invalid_argument, "schema: more than 200 families");
  // The cleanup's own keys (lock, audit) live under swarmkeeper:; no prefix may reach them.
  auto own = [](const std::string& p) {
    const std::string_view ours = "swarmkeeper:";
    return p.rfind(ours, 0) == 0 || ours.rfind(p, 0) == 0;
  };
  if (own(heartbeat_prefix))
    return Error(Errc::invalid_argument, "schema: heartbeat.prefix '" + heartbeat_prefix +
                                             "' overlaps 'swarmkeeper:', the cleanup's own keys (lock, audit)");
  for (const KeyFamily& f : families) {
    if (f.prefix.empty()) return Error(Errc::invalid_argument, "schema: family '" + f.name + "' has an empty prefix");
    if (own(f.prefix))
      return Error(Errc::invalid_argument, "schema: family '" + f.name + "' prefix '" + f.prefix +
                                               "' overlaps 'swarmkeeper:', the cleanup's own keys (lock, audit)");
    if (f.prefix.compare(0, heartbeat_prefix.size(), heartbeat_prefix) == 0 ||
        heartbeat_prefix.compare(0, f.prefix.size(), f.prefix) == 0)
      return Error(Errc::invalid_argument, "schema: family '" + f.name + "' prefix '" + f.prefix +
                                               "' overlaps the heartbeat prefix '" + heartbeat_prefix + "'");
    // A prefix that starts another makes a key readable two ways ("a:" + "b:x" or
    // "a:b:" + "x"): ownership would be a guess.
    for (const KeyFamily& g : families)
      if (&f != &g && g.prefix.compare(0, f.prefix.size(), f.prefix) == 0)
        return Error(Errc::invalid_argument, "schema: family '" + g.name + "' prefix '" + g.prefix +
                                                 "' starts with family '" + f.name + "' prefix '" + f.prefix +
                                                 "': prefixes must not overlap");
  }
  return {};
}

namespace {

// Reads j[name] as a string into out; an error names the field.
std::string read_string(const nlohmann::json& j, const char* name, const std::string& where, std::string& out) {
  if (!j.contains(name)) return "";
  if (!j.at(name).is_string()) return where + "." + name + " must be a string, not " + j.at(name).type_name();
  out = j.at(name).get<std::string>();
  return "";
}

std::string unknown_fields(const nlohmann::json& j, std::initializer_list<const char*> known, const std::string& where) {
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) return "unknown field " + (where.empty() ? "" : where + ".") + "'" + key + "'";
  }
  return "";
}

}  // namespace

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
  if (!j.is_object() || j.empty())
    return bad("expected an object with \"heartbeat\" and/or \"families\", e.g. {\"heartbeat\": {\"prefix\": \"blocking:heartbeat:\"}}");
  if (auto e = unknown_fields(j, {"heartbeat", "families"}, ""); !e.empty()) return bad(e);
  if (j.contains("heartbeat")) {
    const auto& h = j.at("heartbeat");
    if (!h.is_object()) return bad("heartbeat must be an object");
    if (auto e = unknown_fields(h, {"prefix", "format", "field"}, "heartbeat"); !e.empty()) return bad(e);
    std::string format;
    for (auto e : {read_string(h, "prefix", "heartbeat", s.heartbeat_prefix), read_string(h, "field", "heartbeat", s.heartbeat_field),
                   read_string(h, "format", "heartbeat", format)})
      if (!e.empty()) return bad(e);
    if (format == "json") s.heartbeat_format = HeartbeatFormat::json_ms;
    else if (format == "ms") s.heartbeat_format = HeartbeatFormat::integer_ms;
    else if (format == "s") s.heartbeat_format = HeartbeatFormat::integer_s;
    else if (!format.empty() || h.contains("format")) return bad("heartbeat.format '" + format + "' is not one of json, ms, s");
  }
  if (j.contains("families")) {
    const auto& fams = j.at("families");
    if (!fams.is_array() || fams.empty()) return bad("families must be a non-empty array of {\"name\", \"prefix\", \"match\"} objects");
    s.families.clear();
    for (std::size_t i = 0; i < fams.size(); ++i) {
      const auto& f = fams[i];
      const std::string where = "families[" + std::to_string(i) + "]";
      if (!f.is_object()) return bad(where + " must be an object");
      if (auto e = unknown_fields(f, {"name", "prefix", "match", "separator"}, where); !e.empty()) return bad(e);
      if (!f.contains("prefix")) return bad(where + ".prefix is missing");
      KeyFamily fam;
      fam.name = "family " + std::to_string(i);
      std::string m = "exact", sep = ":";
      for (auto e : {read_string(f, "name", where, fam.name), read_string(f, "prefix", where, fam.prefix),
                     read_string(f, "match", where, m), read_string(f, "separator", where, sep)})
        if (!e.empty()) return bad(e);
      if (m == "exact") fam.match = KeyFamily::Match::exact;
      else if (m == "id_prefix") fam.match = KeyFamily::Match::id_prefix;
      else if (m == "mentions") fam.match = KeyFamily::Match::mentions;
      else return bad(where + ".match '" + m + "' is not one of exact, id_prefix, mentions");
      if (sep.size() != 1) return bad(where + ".separator must be one character");
      fam.separator = sep[0];
      s.families.push_back(std::move(fam));
    }
  }
  if (auto v = s.validate(); !v) return bad(v.error().message());
  return s;
}

namespace {

// A timestamp must be a positive integer below 2^63: zero and negatives are garbage,
// never "very old" (keeping is the safe side of every doubt).
std::optional<std::int64_t> positive(std::optional<std::int64_t> v) {
  if (!v || *v <= 0) return std::nullopt;
  return v;
}

// Plain decimal digits only: no sign, spaces, hex, exponent or fraction.
std::optional<std::int64_t> parse_integer(std::string_view v) {
  if (v.empty() || v.size() > 19) return std::nullopt;
  for (char c : v)
    if (c < '0' || c > '9') return std::nullopt;
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return out;
}

std::optional<std::int64_t> json_timestamp_value(simdjson::dom::element ts) {
  switch (ts.type()) {
    case simdjson::dom::element_type::INT64: return ts.get_int64().value_unsafe();
    case simdjson::dom::element_type::UINT64: return std::nullopt;  // above 2^63
    case simdjson::dom::element_type::DOUBLE: {
      const double d = ts.get_double().value_unsafe();
      if (!(d > -9.2e18 && d < 9.2e18)) return std::nullopt;
      return static_cast<std::int64_t>(d);
    }
    case simdjson::dom::element_type::STRING: return parse_integer(ts.get_string().value_unsafe());
    default: return std::nullopt;
  }
}

// The whole value must be one JSON object; the field's last occurrence decides, as in the
// JavaScript and Python writers' parsers.
std::optional<std::int64_t> parse_json_timestamp(std::string_view value, const std::string& field) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  padded.assign(value);
  padded.resize(value.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element doc;
  if (parser.parse(padded.data(), value.size(), false).get(doc)) return std::nullopt;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return std::nullopt;
  std::optional<std::int64_t> result;
  bool found = false;
  for (auto entry : obj) {
    if (entry.key != field) continue;
    result = json_timestamp_value(entry.value);
    found = true;
  }
  if (!found) return std::nullopt;
  return result;
}

}  // namespace

std::optional<std::int64_t> parse_heartbeat(std::string_view value, const KeySchema& schema) {
  switch (schema.heartbeat_format) {
    case HeartbeatFormat::integer_ms: return positive(parse_integer(value));
    case HeartbeatFormat::integer_s: {
      auto s = positive(parse_integer(value));
      if (!s || *s > INT64_MAX / 1000) return std::nullopt;
      return *s * 1000;
    }
    case HeartbeatFormat::json_ms: return positive(parse_json_timestamp(value, schema.heartbeat_field));
  }
  return std::nullopt;
}

HeartbeatState judge_heartbeat(std::string_view value, const KeySchema& schema, std::int64_t now_ms,
                               std::int64_t threshold_ms, std::int64_t* timestamp_ms) {
  const auto ts = parse_heartbeat(value, schema);
  if (timestamp_ms != nullptr) *timestamp_ms = ts.value_or(0);
  if (!ts) return HeartbeatState::invalid;
  // now - ts > threshold, without overflow: ts and threshold are positive.
  return *ts < now_ms && now_ms - *ts > threshold_ms ? HeartbeatState::stale : HeartbeatState::active;
}

}  // namespace swarmkeeper
