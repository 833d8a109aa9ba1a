// SPDX-License-Identifier: Apache-2.0
// key_schema.cpp — schema defaults, schema files, heartbeat parsing (see the header).
#include "swarmkeeper/coord/key_schema.hpp"

#include <simdjson.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace swarmkeeper {

std::optional<std::string_view> KeySchema::heartbeat_id(std::string_view key) const {
  if (key.size() <= heartbeat_prefix.size() || key.substr(0, heartbeat_prefix.size()) != heartbeat_prefix)
    return std::nullopt;
  return key.substr(heartbeat_prefix.size());
}

std::vector<KeyFamily> KeySchema::default_families() {
  using M = KeyFamily::Match;
  std::vector<KeyFamily> f(5);
  f[0].name = "signal", f[0].prefix = "blocking:signal:", f[0].match = M::exact;
  f[1].name = "ack", f[1].prefix = "blocking:ack:", f[1].match = M::id_prefix;
  f[2].name = "idempotency", f[2].prefix = "blocking:idempotency:", f[2].match = M::mentions;
  f[3].name = "activity", f[3].prefix = "coordinator:activity:", f[3].match = M::exact;
  f[3].liveness = true, f[3].format = HeartbeatFormat::json_or_ms,
  f[3].fields = {"lastActivity", "timestamp"};
  f[4].name = "swarm", f[4].prefix = "swarm:", f[4].match = M::exact, f[4].after_wildcards = {":blocking:"};
  return f;
}

std::vector<LivenessRecord> KeySchema::liveness() const {
  std::vector<LivenessRecord> out;
  out.push_back(LivenessRecord{heartbeat_prefix, heartbeat_format, heartbeat_fields});
  for (const KeyFamily& f : families)
    if (f.liveness) out.push_back(LivenessRecord{f.prefix, f.format, f.fields});
  return out;
}

std::optional<std::string_view> KeyFamily::id_part(std::string_view key) const {
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::string_view rest = key.substr(prefix.size());
  for (const std::string& lit : after_wildcards) {
    const std::size_t end = rest.find(separator);  // {*}: one segment, never empty
    if (end == 0 || end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end);
    if (rest.size() <= lit.size() || rest.compare(0, lit.size(), lit) != 0) return std::nullopt;
    rest.remove_prefix(lit.size());
  }
  if (rest.empty()) return std::nullopt;
  return rest;
}

std::string KeyFamily::pattern() const {
  std::string p = prefix;
  for (const std::string& lit : after_wildcards) p += "{*}" + lit;
  return p + "{id}";
}

const KeyFamily* KeySchema::family_of(std::string_view key) const {
  const KeyFamily* best = nullptr;
  for (const KeyFamily& f : families)
    if ((best == nullptr || f.prefix.size() > best->prefix.size()) && f.id_part(key)) best = &f;
  return best;
}

const char* invalid_reason_name(InvalidReason r) {
  switch (r) {
    case InvalidReason::none: return "";
    case InvalidReason::not_json: return "notJson";
    case InvalidReason::no_field: return "noField";
    case InvalidReason::not_a_number: return "notANumber";
    case InvalidReason::too_large: return "tooLarge";
    case InvalidReason::wrong_type: return "wrongType";
    case InvalidReason::empty: return "empty";
    case InvalidReason::unavailable: return "unavailable";
    case InvalidReason::not_milliseconds: return "notMilliseconds";
  }
  return "";
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
    return Error(Errc::invalid_argument,
                 "schema: heartbeat.prefix '" + heartbeat_prefix +
                     "' overlaps 'swarmkeeper:', the cleanup's own keys (lock, audit)");
  std::size_t live = 1;
  for (const KeyFamily& f : families) {
    if (f.prefix.empty())
      return Error(Errc::invalid_argument, "schema: family '" + f.name + "' has an empty prefix");
    for (const std::string& lit : f.after_wildcards)
      if (lit.empty() || lit[0] != f.separator || lit.find('{') != std::string::npos ||
          lit.find('}') != std::string::npos)
        return Error(Errc::invalid_argument,
                     "schema: family '" + f.name + "' template '" + f.pattern() +
                         "': each {*} must be followed by text that starts with the separator '" +
                         std::string(1, f.separator) + "', e.g. swarm:{*}:blocking:{id}");
    if (f.liveness && !f.derivable())
      return Error(Errc::invalid_argument,
                   "schema: family '" + f.name +
                       "' is a liveness record, so it must be \"match\": \"exact\" with no {*}: "
                       "its key is built from a coordinator's id");
    if (f.liveness && ++live > 8)
      return Error(Errc::invalid_argument, "schema: more than 8 liveness records");
    if (own(f.prefix))
      return Error(Errc::invalid_argument,
                   "schema: family '" + f.name + "' prefix '" + f.prefix +
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
std::string read_string(const nlohmann::json& j, const char* name, const std::string& where,
                        std::string& out) {
  if (!j.contains(name)) return "";
  if (!j.at(name).is_string()) return where + "." + name + " must be a string, not " + j.at(name).type_name();
  out = j.at(name).get<std::string>();
  return "";
}

std::string read_string_list(nlohmann::json v, const std::string& where, std::vector<std::string>& out) {
  std::string msg =
      where + " must be a non-empty array of field names, e.g. [\"timestamp\", \"lastHeartbeat\"]";
  if (v.is_string()) v = nlohmann::json::array({v});
  if (!v.is_array() || v.empty() || v.size() > 16) return msg;
  out.clear();
  for (const auto& x : v) {
    if (!x.is_string() || x.get<std::string>().empty()) return msg;
    out.push_back(x.get<std::string>());
  }
  return "";
}

// "fields" (a list) or "field" (one name, the old form) of a heartbeat or family.
std::string read_fields(const nlohmann::json& j, const std::string& where, std::vector<std::string>& out) {
  if (j.contains("field") && j.contains("fields")) return where + ": give \"fields\" or \"field\", not both";
  if (j.contains("field")) return read_string_list(j.at("field"), where + ".field", out);
  if (j.contains("fields")) return read_string_list(j.at("fields"), where + ".fields", out);
  return "";
}

std::string read_format(const nlohmann::json& j, const std::string& where, HeartbeatFormat& out) {
  if (!j.contains("format")) return "";
  const auto& f = j.at("format");
  const std::string v = f.is_string() ? f.get<std::string>() : "";
  if (v == "json")
    out = HeartbeatFormat::json_ms;
  else if (v == "ms")
    out = HeartbeatFormat::integer_ms;
  else if (v == "s")
    out = HeartbeatFormat::integer_s;
  else if (v == "auto")
    out = HeartbeatFormat::json_or_ms;
  else
    return where + ".format '" + (f.is_string() ? v : f.dump()) + "' is not one of json, ms, s, auto";
  return "";
}

// "swarm:{*}:blocking:{id}": the literal prefix, then per {*} the literal after it; {id} last.
std::string parse_template(const std::string& t, const std::string& where, KeyFamily& fam) {
  std::string bad = where + ".template '" + t +
                    "' must be text, any number of {*} each followed by text, and {id} "
                    "last, e.g. swarm:{*}:blocking:{id}";
  const std::size_t id = t.find("{id}");
  if (id == std::string::npos || id + 4 != t.size() || id == 0) return bad;
  std::string_view rest(t.data(), id);
  const std::size_t first = rest.find('{');
  fam.prefix = std::string(rest.substr(0, first));
  if (fam.prefix.empty()) return bad;
  fam.after_wildcards.clear();
  if (first == std::string_view::npos) return "";
  rest.remove_prefix(first);
  while (!rest.empty()) {
    if (!rest.starts_with("{*}")) return bad;
    rest.remove_prefix(3);
    const std::size_t next = rest.find('{');
    const std::string_view lit = rest.substr(0, next);
    if (lit.empty()) return bad;
    fam.after_wildcards.emplace_back(lit);
    rest.remove_prefix(lit.size());
  }
  return "";
}

std::string unknown_fields(const nlohmann::json& j, std::initializer_list<const char*> known,
                           const std::string& where) {
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
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    j = nlohmann::json::parse(text);  // the whole file: one JSON value, nothing after it
  } catch (const std::exception& e) {
    return Error(Errc::invalid_argument, "schema file '" + path + "' is not valid JSON: " + e.what());
  }
  KeySchema s;
  auto bad = [&](const std::string& what) {
    return Error(Errc::invalid_argument, "schema file '" + path + "': " + what);
  };
  if (!j.is_object() || j.empty())
    return bad(
        "expected an object with \"heartbeat\" and/or \"families\", e.g. {\"heartbeat\": {\"prefix\": "
        "\"blocking:heartbeat:\"}}");
  if (auto e = unknown_fields(j, {"heartbeat", "families", "keyTimestampFields"}, ""); !e.empty())
    return bad(e);
  if (j.contains("heartbeat")) {
    const auto& h = j.at("heartbeat");
    if (!h.is_object()) return bad("heartbeat must be an object");
    if (auto e = unknown_fields(h, {"prefix", "format", "field", "fields"}, "heartbeat"); !e.empty())
      return bad(e);
    for (const auto& e :
         {read_string(h, "prefix", "heartbeat", s.heartbeat_prefix),
          read_format(h, "heartbeat", s.heartbeat_format), read_fields(h, "heartbeat", s.heartbeat_fields)})
      if (!e.empty()) return bad(e);
  }
  if (j.contains("keyTimestampFields")) {
    if (auto e = read_string_list(j.at("keyTimestampFields"), "keyTimestampFields", s.key_timestamp_fields);
        !e.empty())
      return bad(e);
  }
  if (j.contains("families")) {
    const auto& fams = j.at("families");
    if (!fams.is_array() || fams.empty())
      return bad("families must be a non-empty array of {\"name\", \"prefix\", \"match\"} objects");
    s.families.clear();
    for (std::size_t i = 0; i < fams.size(); ++i) {
      const auto& f = fams[i];
      const std::string where = "families[" + std::to_string(i) + "]";
      if (!f.is_object()) return bad(where + " must be an object");
      if (auto e = unknown_fields(
              f, {"name", "prefix", "template", "match", "separator", "liveness", "format", "fields"}, where);
          !e.empty())
        return bad(e);
      if (f.contains("prefix") == f.contains("template"))
        return bad(where +
                   " needs a \"prefix\" or a \"template\" (e.g. \"swarm:{*}:blocking:{id}\"), not both");
      KeyFamily fam;
      fam.name = "family " + std::to_string(i);
      std::string m = "exact", sep = ":", tmpl;
      for (const auto& e :
           {read_string(f, "name", where, fam.name), read_string(f, "prefix", where, fam.prefix),
            read_string(f, "template", where, tmpl), read_string(f, "match", where, m),
            read_string(f, "separator", where, sep), read_format(f, where, fam.format),
            read_fields(f, where, fam.fields)})
        if (!e.empty()) return bad(e);
      if (f.contains("liveness")) {
        if (!f.at("liveness").is_boolean()) return bad(where + ".liveness must be true or false");
        fam.liveness = f.at("liveness").get<bool>();
      }
      if (fam.fields.empty()) fam.fields = {"timestamp"};
      if (!tmpl.empty() || f.contains("template"))
        if (auto e = parse_template(tmpl, where, fam); !e.empty()) return bad(e);
      if (m == "exact")
        fam.match = KeyFamily::Match::exact;
      else if (m == "id_prefix")
        fam.match = KeyFamily::Match::id_prefix;
      else if (m == "mentions")
        fam.match = KeyFamily::Match::mentions;
      else
        return bad(where + ".match '" + m + "' is not one of exact, id_prefix, mentions");
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
bool all_digits(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<std::int64_t> parse_integer(std::string_view v) {
  if (v.size() > 19 || !all_digits(v)) return std::nullopt;
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

// Parses value as one JSON object into *obj (thread-local storage). False if it is not one.
bool parse_object(std::string_view value, simdjson::dom::object* obj) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  padded.assign(value);
  padded.resize(value.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element doc;
  if (parser.parse(padded.data(), value.size(), false).get(doc)) return false;
  return !doc.get_object().get(*obj);
}

// The whole value must be one JSON object; the first of `fields` present decides, and of
// that field its last occurrence, as in the JavaScript and Python writers' parsers.
// Milliseconds of this era start at 10^12 (September 2001): a smaller "millisecond"
// timestamp is seconds, a counter or a flag, and reading it as 1970 would call a living
// coordinator dead. Unreadable, never old.
constexpr std::int64_t kMinMs = 1'000'000'000'000;

ParsedTimestamp parse_json_timestamp(std::string_view value, const std::vector<std::string>& fields) {
  simdjson::dom::object obj;
  if (!parse_object(value, &obj)) return {std::nullopt, InvalidReason::not_json};
  // Every field named that is present counts (a field's last occurrence, as in the
  // JavaScript and Python writers' parsers), and the youngest wins: a record with an
  // old "timestamp" and a fresh "lastHeartbeat" is fresh. One unreadable: unreadable.
  std::optional<std::int64_t> best;
  for (const std::string& field : fields) {
    std::optional<std::int64_t> result;
    bool found = false;
    for (auto entry : obj) {
      if (entry.key != field) continue;
      result = json_timestamp_value(entry.value);
      found = true;
    }
    if (!found) continue;
    result = positive(result);
    if (!result) return {std::nullopt, InvalidReason::not_a_number};
    if (*result < kMinMs) return {std::nullopt, InvalidReason::not_milliseconds};
    if (!best || *result > *best) best = result;
  }
  if (!best) return {std::nullopt, InvalidReason::no_field};
  return {best, InvalidReason::none};
}

ParsedTimestamp integer_timestamp(std::string_view value, std::int64_t scale) {
  auto v = positive(parse_integer(value));
  if (!v || *v > INT64_MAX / scale) return {std::nullopt, InvalidReason::not_a_number};
  if (*v * scale < kMinMs) return {std::nullopt, InvalidReason::not_milliseconds};
  return {*v * scale, InvalidReason::none};
}

}  // namespace

ParsedTimestamp parse_timestamp(std::string_view value, HeartbeatFormat format,
                                const std::vector<std::string>& fields) {
  if (value.empty()) return {std::nullopt, InvalidReason::empty};
  switch (format) {
    case HeartbeatFormat::integer_ms: return integer_timestamp(value, 1);
    case HeartbeatFormat::integer_s: return integer_timestamp(value, 1000);
    case HeartbeatFormat::json_or_ms:
      if (all_digits(value)) return integer_timestamp(value, 1);
      return parse_json_timestamp(value, fields);
    case HeartbeatFormat::json_ms: return parse_json_timestamp(value, fields);
  }
  return {std::nullopt, InvalidReason::not_a_number};
}

std::optional<std::int64_t> parse_heartbeat(std::string_view value, const KeySchema& schema) {
  return parse_timestamp(value, schema.heartbeat_format, schema.heartbeat_fields).ms;
}

std::optional<std::int64_t> key_timestamp(std::string_view key, const std::string* value,
                                          const KeySchema& schema) {
  std::optional<std::int64_t> best;
  // Only values that read as milliseconds of this era (13 digits) are timestamps:
  // seconds, counters and flags such as "startTime": 1 say nothing of a key's age.
  auto take = [&](std::optional<std::int64_t> v) {
    if (v && *v >= 1'000'000'000'000 && *v < 10'000'000'000'000 && (!best || *v > *best)) best = v;
  };
  // A time in the name: the last field of a mentions key (the orchestrator's idempotency
  // records end in one). Elsewhere the last field is an id, or part of one.
  const KeyFamily* family = schema.family_of(key);
  if (family != nullptr && family->match == KeyFamily::Match::mentions) {
    const std::size_t sep = key.rfind(family->separator);
    const std::string_view last = sep == std::string_view::npos ? key : key.substr(sep + 1);
    if (last.size() == 13 && all_digits(last)) take(parse_integer(last));
  }
  if (value != nullptr && !value->empty() && value->front() == '{') {
    simdjson::dom::object obj;
    if (parse_object(*value, &obj))
      for (auto entry : obj)
        for (const std::string& f : schema.key_timestamp_fields)
          if (entry.key == f) take(json_timestamp_value(entry.value));
  }
  return best;
}

std::vector<std::string> millisecond_fields(std::string_view value) {
  std::vector<std::string> out;
  simdjson::dom::object obj;
  if (!parse_object(value, &obj)) return out;
  for (auto entry : obj) {
    const auto v = json_timestamp_value(entry.value);
    if (v && *v >= 1'000'000'000'000 && *v < 10'000'000'000'000) out.emplace_back(entry.key);
  }
  return out;
}

std::string schema_hint(std::string_view value, InvalidReason reason) {
  switch (reason) {
    case InvalidReason::no_field: {
      const auto f = millisecond_fields(value);
      if (f.empty()) return "the heartbeats are JSON without a millisecond timestamp field the schema names";
      std::string list;
      for (const auto& x : f) list += (list.empty() ? "\"" : ", \"") + x + "\"";
      return "the heartbeats hold millisecond timestamps in " + list +
             ": a --schema file with {\"heartbeat\": {\"fields\": [" + list + "]}} reads them";
    }
    case InvalidReason::not_json:
      if (all_digits(value))
        return "the heartbeats are plain numbers: a --schema file with {\"heartbeat\": {\"format\": \"" +
               std::string(value.size() <= 10 ? "s" : "ms") + "\"}} reads them";
      return "the heartbeats are not JSON objects";
    case InvalidReason::too_large:
      return "the heartbeats are larger than the cleanup reads whole (16 KiB): keep heartbeats small";
    case InvalidReason::not_milliseconds:
      return "the timestamps read as before 2001: they look like seconds; write milliseconds, or for plain "
             "numbers use a "
             "--schema file with {\"heartbeat\": {\"format\": \"s\"}}";
    default: return "";
  }
}

LivenessVerdict judge_liveness(std::string_view value, HeartbeatFormat format,
                               const std::vector<std::string>& fields, std::int64_t now_ms,
                               std::int64_t threshold_ms) {
  const ParsedTimestamp p = parse_timestamp(value, format, fields);
  if (!p.ms) return {HeartbeatState::invalid, 0, p.reason};
  // now - ts > threshold, without overflow: ts and threshold are positive.
  const std::int64_t ts = *p.ms;
  return {ts < now_ms && now_ms - ts > threshold_ms ? HeartbeatState::stale : HeartbeatState::active, ts,
          InvalidReason::none};
}

HeartbeatState judge_heartbeat(std::string_view value, const KeySchema& schema, std::int64_t now_ms,
                               std::int64_t threshold_ms, std::int64_t* timestamp_ms) {
  const LivenessVerdict v =
      judge_liveness(value, schema.heartbeat_format, schema.heartbeat_fields, now_ms, threshold_ms);
  if (timestamp_ms != nullptr) *timestamp_ms = v.timestamp_ms;
  return v.state;
}

}  // namespace swarmkeeper
