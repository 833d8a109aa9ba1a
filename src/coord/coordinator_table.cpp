// SPDX-License-Identifier: Apache-2.0
// coordinator_table.cpp — see coordinator_table.hpp.
#include "coord/coordinator_table.hpp"

#include <algorithm>
#include <cstring>

namespace swarmkeeper::coord {

std::string_view CoordinatorTable::intern(std::string_view s) {
  if (block_used_ + s.size() > block_size_) {
    block_size_ = std::max<std::size_t>(1 << 20, s.size());
    blocks_.push_back(std::make_unique<char[]>(block_size_));
    block_used_ = 0;
  }
  char* at = blocks_.back().get() + block_used_;
  if (!s.empty()) std::memcpy(at, s.data(), s.size());
  block_used_ += s.size();
  return {at, s.size()};
}

std::uint32_t CoordinatorTable::add(std::string_view id, std::int64_t timestamp_ms, CoordState state) {
  if (auto it = index_.find(id); it != index_.end()) return *it;  // SCAN may repeat a key
  const auto i = static_cast<std::uint32_t>(coords_.size());
  Coordinator c;
  c.id = intern(id);
  c.timestamp_ms = timestamp_ms;
  c.state = state;
  coords_.push_back(c);
  index_.insert(i);
  return i;
}

bool structural_candidates(std::string_view key, const KeyFamily& family,
                           std::vector<std::string_view>& out) {
  out.clear();
  const auto part = family.id_part(key);
  if (!part) return true;  // not this family's: no candidate
  const std::string_view rest = *part;
  const char sep = family.separator;
  switch (family.match) {
    case KeyFamily::Match::exact:
      if (!rest.empty()) out.push_back(rest);
      return true;
    case KeyFamily::Match::id_prefix:
      for (std::size_t at = rest.find(sep); at != std::string_view::npos; at = rest.find(sep, at + 1)) {
        if (out.size() == kMaxCandidates) return false;  // too many ways to read it: kept
        if (at > 0) out.push_back(rest.substr(0, at));   // an empty id names nobody
      }
      return true;
    case KeyFamily::Match::mentions: {
      constexpr std::size_t kMaxTokens = kMaxCandidates;  // at most 136 candidates
      std::size_t starts[kMaxTokens];
      std::size_t n = 0;
      starts[n++] = 0;
      for (std::size_t at = rest.find(sep); at != std::string_view::npos; at = rest.find(sep, at + 1)) {
        if (n == kMaxTokens) return false;
        starts[n++] = at + 1;
      }
      for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = a; b < n; ++b) {
          const std::size_t end = (b + 1 < n) ? starts[b + 1] - 1 : rest.size();
          if (end > starts[a]) out.push_back(rest.substr(starts[a], end - starts[a]));
        }
      return true;
    }
  }
  return false;
}

void attribute(std::string_view key, const KeyFamily& family, const CoordinatorTable& table,
               std::vector<std::string_view>& candidates, Attribution& d) {
  d.owners.clear();
  d.absent.clear();
  if (!structural_candidates(key, family, candidates)) {
    d.kind = Attribution::ambiguous;
    return;
  }
  bool alive = false;
  std::size_t known = 0;
  for (std::string_view c : candidates) {
    const auto i = table.find(c);
    if (i < 0) {
      if (std::find(d.absent.begin(), d.absent.end(), c) == d.absent.end()) d.absent.push_back(c);
      continue;
    }
    ++known;
    const Coordinator& coord = table[static_cast<std::uint32_t>(i)];
    if ((coord.state != CoordState::stale && coord.state != CoordState::absent) || coord.renewed) {
      alive = true;  // belongs (also) to the living, or to the unreadable
      continue;
    }
    const auto idx = static_cast<std::uint32_t>(i);
    if (std::find(d.owners.begin(), d.owners.end(), idx) == d.owners.end()) d.owners.push_back(idx);
  }
  if (family.match == KeyFamily::Match::id_prefix && known > 1) {
    d.kind = Attribution::ambiguous;  // the structure allows several coordinators
    return;
  }
  if (alive) {
    d.kind = Attribution::keep_alive;
    return;
  }
  d.kind = d.owners.empty() ? Attribution::orphan : Attribution::remove;
}

}  // namespace swarmkeeper::coord
