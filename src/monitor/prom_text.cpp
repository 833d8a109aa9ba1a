// SPDX-License-Identifier: Apache-2.0
// prom_text.cpp — the exposition writer of prom_text.hpp.
#include "monitor/prom_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <unordered_map>

namespace swarmkeeper::monitor {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if there is none.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;  // overlong
  if (n == 3 && ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) >= 0xa0)))
    return 0;  // overlong, surrogate
  if (n == 4 && ((c == 0xf0 && b(i + 1) < 0x90) || c > 0xf4 || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

}  // namespace

// Label values must be UTF-8, and Redis key names may hold any bytes: a byte outside a
// valid sequence is written as the four characters \xNN (the backslash escaped).
std::string prom_escape(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size();) {
    const char c = v[i];
    const std::size_t n = utf8_length(v, i);
    if (n == 0) {
      const auto u = static_cast<unsigned char>(c);
      out += "\\\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
      ++i;
      continue;
    }
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.append(v.substr(i, n));
    i += n;
  }
  return out;
}

std::string bounded_label(std::string_view v) {
  bool valid = true;
  for (std::size_t i = 0; i < v.size() && valid;) {
    const std::size_t n = utf8_length(v, i);
    valid = n > 0;
    i += n;
  }
  if (v.size() <= kMaxLabelBytes && valid) return std::string(v);
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: the same name gives the same series in every run
  for (const char c : v) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tail = v.size() <= kMaxLabelBytes ? "#" : "...#";
  for (int shift = 60; shift >= 0; shift -= 4) tail.push_back(kHex[(h >> shift) & 0xf]);
  // Not UTF-8: its stray bytes are written as the text \xNN, which a name holding that text
  // would also give; the hash keeps the two apart.
  if (v.size() <= kMaxLabelBytes) return std::string(v) + tail;
  std::size_t keep = kMaxLabelBytes - tail.size();
  // Back up to a character boundary: never leave half a UTF-8 sequence before the tail.
  while (keep > 0 && (static_cast<unsigned char>(v[keep]) & 0xc0) == 0x80) --keep;
  return std::string(v.substr(0, keep)) + tail;
}

std::string prom_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string Sample::series() const {
  std::string s = name;
  if (!labels.empty()) {
    s += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i) s += ',';
      s += labels[i].first + "=\"" + prom_escape(labels[i].second) + '"';
    }
    s += '}';
  }
  return s;
}

std::string render_prometheus(const std::vector<Sample>& samples) {
  std::vector<std::string> order;
  std::unordered_map<std::string, std::vector<const Sample*>> families;
  for (const auto& s : samples) {
    const std::string& fam = s.family.empty() ? s.name : s.family;
    auto [it, fresh] = families.try_emplace(fam);
    if (fresh) order.push_back(fam);
    it->second.push_back(&s);
  }
  std::string out;
  for (const auto& name : order) {
    const auto& members = families[name];
    std::string help = members.front()->help;
    for (char& c : help)
      if (c == '\n') c = ' ';
    out += "# HELP " + name + " " + help + "\n";
    const MetricType t = members.front()->type;
    out += "# TYPE " + name +
           (t == MetricType::counter     ? " counter\n"
            : t == MetricType::histogram ? " histogram\n"
            : t == MetricType::summary   ? " summary\n"
                                         : " gauge\n");
    for (const Sample* s : members) out += s->series() + " " + prom_number(s->value) + "\n";
  }
  return out;
}

}  // namespace swarmkeeper::monitor
