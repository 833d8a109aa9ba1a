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
  if (auto it = index_.find(id); it != index_.end()) return it->second;  // SCAN may repeat a key
  const auto i = static_cast<std::uint32_t>(coords_.size());
  Coordinator c;
  c.id = intern(id);
  c.timestamp_ms = timestamp_ms;
  c.state = state;
  coords_.push_back(c);
  index_.emplace(c.id, i);
  return i;
}

void resolve(std::string_view key, const KeyFamily& family, const CoordinatorTable& table, Attribution& out) {
  out.owners.clear();
  out.candidates.clear();
  const std::string_view rest = key.substr(family.prefix.size());
  const char sep = family.separator;
  switch (family.match) {
    case KeyFamily::Match::exact: {
      const auto i = table.find(rest);
      if (i >= 0) {
        out.kind = Attribution::Kind::owned;
        out.owners.push_back(static_cast<std::uint32_t>(i));
      } else {
        out.kind = Attribution::Kind::orphan;
        out.candidates.push_back(rest);
      }
      return;
    }
    case KeyFamily::Match::id_prefix: {
      // Every separator position splits rest into <id><sep><anything>.
      for (std::size_t at = rest.find(sep); at != std::string_view::npos; at = rest.find(sep, at + 1)) {
        const std::string_view id = rest.substr(0, at);
        out.candidates.push_back(id);
        if (const auto i = table.find(id); i >= 0) out.owners.push_back(static_cast<std::uint32_t>(i));
      }
      if (out.owners.size() == 1) {
        out.kind = Attribution::Kind::owned;
        out.candidates.clear();
      } else {
        out.kind = out.owners.empty() ? Attribution::Kind::orphan : Attribution::Kind::ambiguous;
      }
      return;
    }
    case KeyFamily::Match::mentions: {
      // Tokens split at the separator; any run of consecutive tokens may be an id.
      constexpr std::size_t kMaxTokens = 16;  // beyond that, keep the key (ambiguous)
      std::size_t starts[kMaxTokens + 1];
      std::size_t n = 0;
      starts[n++] = 0;
      for (std::size_t at = rest.find(sep); at != std::string_view::npos; at = rest.find(sep, at + 1)) {
        if (n == kMaxTokens) {
          out.kind = Attribution::Kind::ambiguous;
          return;
        }
        starts[n++] = at + 1;
      }
      for (std::size_t a = 0; a < n; ++a) {
        for (std::size_t b = a; b < n; ++b) {
          const std::size_t end = (b + 1 < n) ? starts[b + 1] - 1 : rest.size();
          const std::string_view id = rest.substr(starts[a], end - starts[a]);
          out.candidates.push_back(id);
          if (const auto i = table.find(id); i >= 0) {
            const auto idx = static_cast<std::uint32_t>(i);
            if (std::find(out.owners.begin(), out.owners.end(), idx) == out.owners.end()) out.owners.push_back(idx);
          }
        }
      }
      if (!out.owners.empty()) {
        out.kind = Attribution::Kind::owned;
        out.candidates.clear();
      } else {
        out.kind = Attribution::Kind::orphan;
      }
      return;
    }
  }
}

}  // namespace swarmkeeper::coord
