// SPDX-License-Identifier: Apache-2.0
// keyspace_survey.cpp — see keyspace_survey.hpp.
#include "coord/keyspace_survey.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace swarmkeeper::coord {

namespace {

std::vector<std::string_view> split(std::string_view key) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t colon = key.find(':', at);
    out.push_back(key.substr(at, colon == std::string_view::npos ? std::string_view::npos : colon - at));
    if (colon == std::string_view::npos) break;
    at = colon + 1;
  }
  return out;
}

bool variable_field(std::string_view f) {
  if (f.size() > 32 || f.empty()) return !f.empty();
  for (char c : f)
    if ((c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80 || c == '{' || c == '}') return true;
  return false;
}

constexpr std::size_t kMaxLiterals = 16;  // different values after one prefix before it becomes "*"

std::string ttl_text(std::int64_t ms) {
  if (ms >= 86400000) return fmt::format("{:.1f}d", static_cast<double>(ms) / 86400000);
  if (ms >= 3600000) return fmt::format("{:.1f}h", static_cast<double>(ms) / 3600000);
  if (ms >= 60000) return fmt::format("{:.1f}m", static_cast<double>(ms) / 60000);
  return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000);
}

}  // namespace

std::string KeyspaceSurvey::abstract(const std::vector<std::string_view>& fields, bool learn) {
  std::string shape;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    if (!variable_field(f)) {
      if (collapsed_.contains(shape)) {
        f = "*";
      } else if (learn) {
        auto& seen = seen_after_[shape];
        if (seen.size() < kMaxLiterals || seen.contains(std::string(f))) {
          seen.emplace(f);
        } else {
          collapsed_.insert(shape);
          seen_after_.erase(shape);
          f = "*";
        }
      }
    } else {
      f = "*";
    }
    if (i > 0) shape += ':';
    shape += f;
  }
  return shape;
}

void KeyspaceSurvey::on_key(std::string_view key) {
  ++keys_;
  const std::string shape = abstract(split(key), true);
  auto it = shapes_.find(shape);
  if (it == shapes_.end()) {
    if (shapes_.size() >= kMaxShapes) {
      ++past_cap_;
      return;
    }
    it = shapes_.emplace(shape, ShapeStats{}).first;
    it->second.shape = shape;
  }
  ShapeStats& s = it->second;
  ++s.keys;
  std::string claim;
  if (key.starts_with("swarmkeeper:"))
    claim = "swarmkeeper";
  else if (schema_.heartbeat_id(key))
    claim = "heartbeat";
  else if (const KeyFamily* f = schema_.family_of(key))
    claim = f->name;
  if (s.claims.size() < 16 || s.claims.contains(claim)) ++s.claims[claim];
  if (s.samples.size() < kSamplesPerShape) s.samples.emplace_back(key);
}

void KeyspaceSurvey::finish() {
  absl::flat_hash_map<std::string, ShapeStats> merged;
  for (auto& [shape, stats] : shapes_) {
    const std::string now = abstract(split(shape), false);
    auto [it, inserted] = merged.try_emplace(now, std::move(stats));
    if (inserted) {
      it->second.shape = now;
      continue;
    }
    it->second.keys += stats.keys;
    for (const auto& [claim, n] : stats.claims) it->second.claims[claim] += n;
    for (auto& k : stats.samples)
      if (it->second.samples.size() < kSamplesPerShape) it->second.samples.push_back(std::move(k));
  }
  shapes_ = std::move(merged);
  // Each shape is claimed by what claims most of its keys.
  for (auto& [shape, st] : shapes_) {
    std::uint64_t best = 0;
    for (const auto& [claim, n] : st.claims)
      if (n > best) best = n, st.claimed_by = claim;
    st.liveness = st.claimed_by == "heartbeat";
    for (const KeyFamily& f : schema_.families)
      if (f.name == st.claimed_by && f.liveness) st.liveness = true;
  }
}

std::vector<std::string> KeyspaceSurvey::sample_keys() const {
  std::vector<std::string> out;
  for (const ShapeStats* s : shapes()) out.insert(out.end(), s->samples.begin(), s->samples.end());
  return out;
}

void KeyspaceSurvey::on_sample(std::string_view key, std::string_view type, std::int64_t pttl_ms,
                               const std::string* value, std::int64_t now_ms) {
  auto it = shapes_.find(abstract(split(key), false));
  if (it == shapes_.end() || pttl_ms == -2) return;  // gone since the scan
  ShapeStats& s = it->second;
  ++s.types[std::string(type)];
  if (pttl_ms >= 0) {
    s.ttl_min_ms = s.with_ttl == 0 ? pttl_ms : std::min(s.ttl_min_ms, pttl_ms);
    s.ttl_max_ms = s.with_ttl == 0 ? pttl_ms : std::max(s.ttl_max_ms, pttl_ms);
    ++s.with_ttl;
  } else {
    ++s.without_ttl;
  }
  if (const std::size_t c = key.rfind(':');
      c != std::string_view::npos && key.size() - c - 1 == 13 &&
      key.find_first_not_of("0123456789", c + 1) == std::string_view::npos)
    ++s.key_name_ms;
  if (value == nullptr) return;
  if (!value->empty() && value->find_first_not_of("0123456789") == std::string::npos)
    ++s.integer;
  else if (!value->empty() && value->front() == '{') {
    ++s.json;
    for (auto& f : millisecond_fields(*value))
      if (std::find(s.ms_fields.begin(), s.ms_fields.end(), f) == s.ms_fields.end() && s.ms_fields.size() < 8)
        s.ms_fields.push_back(f);
  } else {
    ++s.text;
  }
  // A liveness record (this key, whatever its shape's other keys are): does it read?
  HeartbeatFormat format = schema_.heartbeat_format;
  const std::vector<std::string>* fields = &schema_.heartbeat_fields;
  if (!schema_.heartbeat_id(key)) {
    const KeyFamily* f = schema_.family_of(key);
    if (f == nullptr || !f->liveness) return;
    format = f->format, fields = &f->fields;
  }
  const auto v = judge_liveness(*value, format, *fields, now_ms, threshold_ms_);
  if (v.state != HeartbeatState::invalid) return;
  ++s.unreadable[static_cast<std::size_t>(v.reason)];
  if (s.hint.empty()) s.hint = schema_hint(*value, v.reason);
}

std::vector<const ShapeStats*> KeyspaceSurvey::shapes() const {
  std::vector<const ShapeStats*> out;
  for (const auto& [shape, s] : shapes_) out.push_back(&s);
  std::sort(out.begin(), out.end(), [](const ShapeStats* a, const ShapeStats* b) {
    return a->keys != b->keys ? a->keys > b->keys : a->shape < b->shape;
  });
  return out;
}

nlohmann::ordered_json KeyspaceSurvey::report_json() const {
  nlohmann::ordered_json j;
  j["keysSeen"] = keys_;
  j["keysPastShapeCap"] = past_cap_;
  auto& arr = j["shapes"] = nlohmann::ordered_json::array();
  for (const ShapeStats* s : shapes()) {
    nlohmann::ordered_json o;
    o["shape"] = s->shape;
    o["keys"] = s->keys;
    o["claimedBy"] =
        s->claimed_by.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s->claimed_by);
    if (s->claims.size() > 1) {
      nlohmann::ordered_json c = nlohmann::ordered_json::object();
      for (const auto& [claim, n] : s->claims) c[claim.empty() ? "(none)" : claim] = n;
      o["claims"] = c;
    }
    o["liveness"] = s->liveness;
    o["types"] = s->types;
    o["sampled"] = s->with_ttl + s->without_ttl;
    o["withTtl"] = s->with_ttl;
    if (s->with_ttl > 0) o["ttlMs"] = {{"min", s->ttl_min_ms}, {"max", s->ttl_max_ms}};
    o["values"] = {{"json", s->json}, {"integer", s->integer}, {"text", s->text}};
    o["millisecondFields"] = s->ms_fields;
    o["nameEndsInMs"] = s->key_name_ms;
    nlohmann::ordered_json bad = nlohmann::ordered_json::object();
    for (std::size_t r = 1; r < kInvalidReasons; ++r)
      if (s->unreadable[r] > 0) bad[invalid_reason_name(static_cast<InvalidReason>(r))] = s->unreadable[r];
    if (!bad.empty()) o["unreadable"] = bad;
    if (!s->hint.empty()) o["hint"] = s->hint;
    o["example"] = s->samples.empty() ? "" : s->samples.front();
    arr.push_back(std::move(o));
  }
  return j;
}

std::string KeyspaceSurvey::report_text() const {
  std::ostringstream o;
  o << fmt::format("{:<44} {:>9}  {:<8} {:<16} {:<38} {}\n", "key shape", "keys", "type", "TTL (sampled)",
                   "value", "schema");
  for (const ShapeStats* s : shapes()) {
    std::string type = s->types.empty() ? "?" : s->types.begin()->first;
    if (s->types.size() > 1) type += "+";
    std::string ttl = "—";
    if (s->with_ttl > 0 && s->without_ttl == 0)
      ttl = ttl_text(s->ttl_min_ms) + "–" + ttl_text(s->ttl_max_ms);
    else if (s->with_ttl > 0)
      ttl = "some: " + ttl_text(s->ttl_min_ms) + "–" + ttl_text(s->ttl_max_ms);
    else if (s->without_ttl > 0)
      ttl = "none";
    std::string value;
    if (s->json > 0) {
      value = "JSON";
      if (!s->ms_fields.empty()) {
        value += ", ms:";
        for (const auto& f : s->ms_fields) value += " " + f;
      }
    } else if (s->integer > 0) {
      value = "integer";
    } else if (s->text > 0) {
      value = "text";
    }
    if (s->key_name_ms > 0) value += value.empty() ? "ms in name" : "; ms in name";
    std::string claim = s->claimed_by.empty() ? "(none)" : s->claimed_by;
    if (s->liveness && s->claimed_by != "heartbeat") claim += " (liveness)";
    if (s->claims.size() > 1) claim += fmt::format(" ({} of its keys)", s->claims.at(s->claimed_by));
    o << fmt::format("{:<44} {:>9}  {:<8} {:<16} {:<38} {}\n", s->shape.substr(0, 44), s->keys, type, ttl,
                     value.substr(0, 38), claim);
    std::uint64_t bad = 0;
    std::string why;
    for (std::size_t r = 1; r < kInvalidReasons; ++r)
      if (s->unreadable[r] > 0) {
        bad += s->unreadable[r];
        why += fmt::format("{}{} {}", why.empty() ? "" : ", ", s->unreadable[r],
                           invalid_reason_name(static_cast<InvalidReason>(r)));
      }
    if (bad > 0)
      o << fmt::format("    {} of {} sampled values do not read ({}){}\n", bad,
                       s->json + s->integer + s->text, why, s->hint.empty() ? "" : ": " + s->hint);
  }
  if (past_cap_ > 0)
    o << fmt::format("  ... and {} keys in shapes past the first {}\n", past_cap_, kMaxShapes);
  return o.str();
}

namespace {

// The literal start of a shape: its fields up to the first "*", with the ':' after them.
std::string literal_prefix(const std::vector<std::string_view>& f, std::size_t upto) {
  std::string p;
  for (std::size_t i = 0; i < upto; ++i) p += std::string(f[i]) + ":";
  return p;
}

std::string format_name(HeartbeatFormat f) {
  switch (f) {
    case HeartbeatFormat::json_ms: return "json";
    case HeartbeatFormat::integer_ms: return "ms";
    case HeartbeatFormat::integer_s: return "s";
    case HeartbeatFormat::json_or_ms: return "auto";
  }
  return "json";
}

const char* match_name(KeyFamily::Match m) {
  return m == KeyFamily::Match::exact ? "exact" : m == KeyFamily::Match::id_prefix ? "id_prefix" : "mentions";
}

}  // namespace

nlohmann::ordered_json KeyspaceSurvey::suggest_schema() const {
  KeySchema s = schema_;
  // The heartbeat: the shape the schema claims, or — when it claims none — the unclaimed
  // shape "<literal>:*" whose JSON values carry millisecond fields, preferring names that
  // say so (heartbeat, beat, alive, seen, ping).
  const ShapeStats* hb = nullptr;
  for (const ShapeStats* sh : shapes())
    if (sh->claimed_by == "heartbeat") hb = sh;
  if (hb == nullptr) {
    int best = -1;
    for (const ShapeStats* sh : shapes()) {
      const auto f = split(sh->shape);
      if (!sh->claimed_by.empty() || f.size() < 2 || f.back() != "*" || sh->ms_fields.empty()) continue;
      bool literal = true;
      for (std::size_t i = 0; i + 1 < f.size(); ++i) literal = literal && f[i] != "*";
      if (!literal) continue;
      std::string words = sh->shape;
      for (const auto& x : sh->ms_fields) words += " " + x;
      std::transform(words.begin(), words.end(), words.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      int score = 1;
      for (const char* w : {"heartbeat", "beat", "alive", "seen", "ping"})
        score += words.find(w) != std::string::npos ? 10 : 0;
      if (score > best) best = score, hb = sh;
    }
    if (hb != nullptr) {
      const auto f = split(hb->shape);
      s.heartbeat_prefix = literal_prefix(f, f.size() - 1);
      s.heartbeat_fields.clear();
      s.heartbeat_format = HeartbeatFormat::json_ms;
    }
  }
  if (hb != nullptr) {
    if (hb->json == 0 && hb->integer > 0) {
      s.heartbeat_format = HeartbeatFormat::json_or_ms;
    } else {  // the schema's fields first, then the ones the values show
      for (const auto& f : hb->ms_fields)
        if (std::find(s.heartbeat_fields.begin(), s.heartbeat_fields.end(), f) == s.heartbeat_fields.end())
          s.heartbeat_fields.push_back(f);
    }
  }
  // Ids: what the heartbeat and liveness shapes vary in (their last field).
  absl::flat_hash_set<std::string> ids;
  for (const ShapeStats* sh : shapes()) {
    if (!sh->liveness && sh != hb) continue;
    for (const auto& k : sh->samples) {
      if (auto id = s.heartbeat_id(k))
        ids.emplace(*id);
      else if (const KeyFamily* f = s.family_of(k)) {
        if (auto part = f->id_part(k)) ids.emplace(*part);
      }
    }
  }
  // A family for each unclaimed shape whose fields hold ids: where they sit decides its rule.
  for (const ShapeStats* sh : shapes()) {
    if (!sh->claimed_by.empty() || sh->samples.empty() || sh == hb) continue;
    const auto shape_fields = split(sh->shape);
    std::optional<std::size_t> id_at;
    for (const auto& k : sh->samples) {
      const auto f = split(k);
      if (f.size() != shape_fields.size()) continue;
      for (std::size_t i = 0; i < f.size() && !id_at; ++i)
        if (shape_fields[i] == "*" && ids.contains(std::string(f[i]))) id_at = i;
      if (id_at) break;
    }
    if (!id_at) continue;
    std::size_t first_var = 0;
    while (first_var < shape_fields.size() && shape_fields[first_var] != "*") ++first_var;
    if (first_var == 0) continue;  // no literal start: nothing to claim it by
    KeyFamily fam;
    fam.prefix = literal_prefix(shape_fields, first_var);
    fam.name = std::string(shape_fields[first_var - 1]);
    const bool last = *id_at + 1 == shape_fields.size();
    if (*id_at == first_var) {
      fam.match = last ? KeyFamily::Match::exact : KeyFamily::Match::id_prefix;
    } else if (last) {  // wildcards, then the id: a template (each "*" followed by literal text)
      fam.match = KeyFamily::Match::exact;
      bool writable = true;
      for (std::size_t i = first_var; i < *id_at && writable;) {
        std::string lit;
        std::size_t j = i + 1;
        while (j < *id_at && shape_fields[j] != "*") lit += ":" + std::string(shape_fields[j++]);
        writable = j == *id_at || !lit.empty();  // two "*" in a row cannot be written
        fam.after_wildcards.push_back(lit + ":");
        i = j;
      }
      if (!writable) continue;
    } else {
      fam.match = KeyFamily::Match::mentions;
    }
    if (std::none_of(s.families.begin(), s.families.end(),
                     [&](const KeyFamily& g) { return g.prefix == fam.prefix; })) {
      KeySchema trial = s;
      trial.families.push_back(fam);
      if (trial.validate()) s = std::move(trial);
    }
  }
  // As a schema file.
  nlohmann::ordered_json j;
  j["heartbeat"] = {{"prefix", s.heartbeat_prefix},
                    {"format", format_name(s.heartbeat_format)},
                    {"fields", s.heartbeat_fields}};
  auto& fams = j["families"] = nlohmann::ordered_json::array();
  for (const KeyFamily& f : s.families) {
    nlohmann::ordered_json o;
    o["name"] = f.name;
    if (f.after_wildcards.empty())
      o["prefix"] = f.prefix;
    else
      o["template"] = f.pattern();
    o["match"] = match_name(f.match);
    if (f.separator != ':') o["separator"] = std::string(1, f.separator);
    if (f.liveness) {
      o["liveness"] = true;
      o["format"] = format_name(f.format);
      o["fields"] = f.fields;
    }
    fams.push_back(std::move(o));
  }
  j["keyTimestampFields"] = s.key_timestamp_fields;
  return j;
}

}  // namespace swarmkeeper::coord
