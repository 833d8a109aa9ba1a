// SPDX-License-Identifier: Apache-2.0
// glob.cpp — the glob matcher and escaper of glob.hpp.
#include "swarmkeeper/client/glob.hpp"

#include <algorithm>

namespace swarmkeeper {

bool glob_match(std::string_view p, std::string_view t) {
  std::size_t pi = 0, ti = 0, star_p = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star_p = pi++;
      star_t = ti;
      continue;
    }
    bool ok = false;
    std::size_t next = pi;
    if (pi < p.size()) {
      if (p[pi] == '?') {
        ok = true, next = pi + 1;
      } else if (p[pi] == '[') {
        std::size_t j = pi + 1;
        const bool negate = j < p.size() && p[j] == '^';
        if (negate) ++j;
        bool in = false;
        for (; j < p.size() && p[j] != ']'; ++j) {
          if (p[j] == '\\' && j + 1 < p.size()) {
            in |= p[++j] == t[ti];
          } else if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
            char lo = p[j], hi = p[j + 2];
            if (lo > hi) std::swap(lo, hi);
            in |= t[ti] >= lo && t[ti] <= hi;
            j += 2;
          } else {
            in |= p[j] == t[ti];
          }
        }
        ok = in != negate, next = std::min(j + 1, p.size());
      } else if (p[pi] == '\\' && pi + 1 < p.size()) {
        ok = p[pi + 1] == t[ti], next = pi + 2;
      } else {
        ok = p[pi] == t[ti], next = pi + 1;
      }
    }
    if (ok) {
      pi = next, ++ti;
    } else if (star_p != std::string_view::npos) {
      pi = star_p + 1, ti = ++star_t;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::string glob_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace swarmkeeper
