// census.cpp — the census tally of census.hpp.
#include "monitor/census.hpp"

#include <absl/hash/hash.h>

#include <algorithm>

#include "coord/coordinator_table.hpp"
#include "swarmkeeper/glob.hpp"

namespace swarmkeeper::monitor {

CensusTally::CensusTally(const KeySchema& schema, std::int64_t threshold_ms, std::vector<std::string> queue_patterns,
                         std::size_t max_queue_keys)
    : schema_(schema), threshold_ms_(threshold_ms), patterns_(std::move(queue_patterns)), max_queue_keys_(max_queue_keys) {}

namespace {
constexpr std::uint64_t kSingle = 1ull << 63;  // a pending word with this bit: one candidate, exact rule
std::uint64_t id_hash(std::string_view id) {
  return (absl::HashOf(id) ^ (static_cast<std::uint64_t>(id.size()) << 48)) & ~kSingle;
}
}  // namespace

bool CensusTally::on_key(std::string_view key) {
  ++r_.keys_scanned;
  if (auto id = schema_.heartbeat_id(key)) {
    ++r_.keys_per_family["heartbeat"];
    heartbeat_ids_.insert(id_hash(*id));
    return true;
  }
  if (const KeyFamily* f = schema_.family_of(key)) {
    ++r_.keys_per_family[f->name];
    if (!coord::structural_candidates(key, *f, candidates_)) {
      ++r_.ambiguous_keys;
      return false;
    }
    const bool prefix = f->match == KeyFamily::Match::id_prefix;
    std::size_t known = 0;
    for (auto c : candidates_) known += heartbeat_ids_.contains(id_hash(c));
    if (prefix && known > 1) {
      ++r_.ambiguous_keys;
    } else if (known == 0 || prefix) {  // its heartbeat may come later in the scan
      if (pending_.size() + 1 + candidates_.size() > kMaxPendingWords) {
        ++r_.unchecked_keys;
      } else if (candidates_.size() == 1 && !prefix) {  // the common case, in one word
        pending_.push_back(id_hash(candidates_[0]) | kSingle);
      } else {
        pending_.push_back(candidates_.size() | (static_cast<std::uint64_t>(prefix) << 32));
        for (auto c : candidates_) pending_.push_back(id_hash(c));
      }
    }
    return false;
  }
  ++r_.keys_per_family["other"];
  for (const auto& p : patterns_) {
    if (!glob_match(p, key)) continue;
    if (queue_keys_.size() < max_queue_keys_) queue_keys_.emplace_back(key);
    else ++r_.queue_keys_omitted;
    break;
  }
  return false;
}

void CensusTally::finish() {
  for (std::size_t i = 0; i < pending_.size();) {
    if (pending_[i] & kSingle) {
      r_.orphan_keys += !heartbeat_ids_.contains(pending_[i] & ~kSingle);
      ++i;
      continue;
    }
    const std::size_t n = pending_[i] & 0xffffffffu;
    const bool prefix = (pending_[i] >> 32) != 0;
    std::size_t known = 0;
    for (std::size_t j = 1; j <= n; ++j) known += heartbeat_ids_.contains(pending_[i + j]);
    if (known == 0) ++r_.orphan_keys;
    else if (prefix && known > 1) ++r_.ambiguous_keys;
    i += 1 + n;
  }
  pending_.clear();
  pending_.shrink_to_fit();
  heartbeat_ids_.clear();
}

void CensusTally::on_heartbeat(const std::string* value, std::int64_t now_ms) {
  if (!value) return;  // gone since the scan saw it: nobody to count
  std::int64_t ts = 0;
  switch (judge_heartbeat(*value, schema_, now_ms, threshold_ms_, &ts)) {
    case HeartbeatState::invalid: ++r_.invalid; return;
    case HeartbeatState::stale: ++r_.stale; break;
    case HeartbeatState::active:
      if (ts > now_ms) {
        ++r_.future;
        return;
      }
      ++r_.active;
      break;
  }
  const double age_s = static_cast<double>(now_ms - ts) / 1000.0;
  std::size_t b = 0;
  while (b < kAgeBounds.size() && age_s > kAgeBounds[b]) ++b;
  ++r_.age_buckets[b];
  r_.age_sum_s += age_s;
}

}  // namespace swarmkeeper::monitor
