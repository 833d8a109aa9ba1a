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
  if (!early_credit_.empty()) {
    if (auto e = early_credit_.find(absl::Hash<std::string_view>{}(id)); e != early_credit_.end()) {
      c.keys_deleted = e->second;
      early_credit_.erase(e);
    }
  }
  coords_.push_back(c);
  index_.insert(i);
  return i;
}

void CoordinatorTable::credit(std::string_view id) {
  if (auto it = index_.find(id); it != index_.end()) {
    auto& n = coords_[*it].keys_deleted;
    if (n < UINT16_MAX) ++n;
    return;
  }
  auto& n = early_credit_[absl::Hash<std::string_view>{}(id)];
  if (n < UINT16_MAX) ++n;
}

bool structural_candidates(std::string_view key, const KeyFamily& family, std::vector<std::string_view>& out) {
  out.clear();
  const std::string_view rest = key.substr(family.prefix.size());
  const char sep = family.separator;
  switch (family.match) {
    case KeyFamily::Match::exact:
      out.push_back(rest);
      return true;
    case KeyFamily::Match::id_prefix:
      for (std::size_t at = rest.find(sep); at != std::string_view::npos; at = rest.find(sep, at + 1)) {
        if (out.size() == kMaxCandidates) return false;  // too many ways to read it: kept
        out.push_back(rest.substr(0, at));
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
          out.push_back(rest.substr(starts[a], end - starts[a]));
        }
      return true;
    }
  }
  return false;
}

void resolve(std::string_view key, const KeyFamily& family, const CoordinatorTable& table, Attribution& out) {
  out.owners.clear();
  if (!structural_candidates(key, family, out.candidates)) {
    out.kind = Attribution::Kind::ambiguous;
    return;
  }
  for (std::string_view id : out.candidates)
    if (const auto i = table.find(id); i >= 0) {
      const auto idx = static_cast<std::uint32_t>(i);
      if (std::find(out.owners.begin(), out.owners.end(), idx) == out.owners.end()) out.owners.push_back(idx);
    }
  if (out.owners.empty()) {
    out.kind = Attribution::Kind::orphan;
  } else if (family.match == KeyFamily::Match::id_prefix && out.owners.size() > 1) {
    out.kind = Attribution::Kind::ambiguous;
  } else {
    out.kind = Attribution::Kind::owned;
  }
}

}  // namespace swarmkeeper::coord
