// prom_text.cpp — the exposition writer of prom_text.hpp.
#include "monitor/prom_text.hpp"

#include <charconv>
#include <cmath>
#include <unordered_map>

namespace swarmkeeper::monitor {

std::string prom_escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
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
