// SPDX-License-Identifier: Apache-2.0
// census.cpp — the census tally of census.hpp.
#include "monitor/census.hpp"

#include <absl/hash/hash.h>

#include <algorithm>

#include "coord/coordinator_table.hpp"
#include "swarmkeeper/client/glob.hpp"

namespace swarmkeeper::monitor {

CensusTally::CensusTally(const KeySchema& schema, std::int64_t threshold_ms,
                         std::vector<std::string> queue_patterns, std::size_t max_queue_keys)
    : schema_(schema),
      threshold_ms_(threshold_ms),
      patterns_(std::move(queue_patterns)),
      max_queue_keys_(max_queue_keys) {}

namespace {
constexpr std::uint64_t kSingle = 1ull << 63;    // a pending word with this bit: one candidate, exact rule
constexpr std::uint64_t kMentions = 1ull << 62;  // with kSingle: a mentions key (names no absent id)
constexpr std::uint64_t kPrefix = 1ull << 32, kMentionsHeader = 1ull << 33;  // header flags
std::uint64_t id_hash(std::string_view id) {
  return (absl::HashOf(id) ^ (static_cast<std::uint64_t>(id.size()) << 48)) & ~(kSingle | kMentions);
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
    if (f->liveness) {
      heartbeat_ids_.insert(id_hash(*f->id_part(key)));
      return true;
    }
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
        pending_.push_back(id_hash(candidates_[0]) | kSingle |
                           (f->match == KeyFamily::Match::mentions ? kMentions : 0));
      } else {
        pending_.push_back(candidates_.size() | (prefix ? kPrefix : 0) |
                           (f->match == KeyFamily::Match::mentions ? kMentionsHeader : 0));
        for (auto c : candidates_) pending_.push_back(id_hash(c));
      }
    }
    return false;
  }
  ++r_.keys_per_family["other"];
  for (const auto& p : patterns_) {
    if (!glob_match(p, key)) continue;
    if (key.size() > kMaxQueueKeyBytes)
      ++r_.queue_keys_too_long;
    else if (queue_keys_.size() < max_queue_keys_)
      queue_keys_.emplace_back(key);
    else
      ++r_.queue_keys_omitted;
    break;
  }
  return false;
}

void CensusTally::finish() {
  // Coordinators by their combined liveness records.
  for (const auto& [id, l] : live_) {
    if (l.fresh) {
      if (l.ts > last_now_ms_) {
        ++r_.future;
        continue;
      }
      ++r_.active;
    } else if (l.invalid || !l.stale) {  // unreadable, or nothing but ""
      ++r_.invalid;
      continue;
    } else {
      ++r_.stale;
    }
    count_age(last_now_ms_, l.ts);
  }
  live_.clear();
  // Absent coordinators, by the cleanup's rule: an exact key, then an id_prefix key, none
  // of whose candidates has a liveness record names one (id_prefix: its first candidate).
  absl::flat_hash_set<std::uint64_t> absent;
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t i = 0; i < pending_.size();) {
      const std::uint64_t w = pending_[i];
      if (w & kSingle) {
        if (pass == 0 && !(w & kMentions) && !heartbeat_ids_.contains(w & ~(kSingle | kMentions)))
          absent.insert(w & ~(kSingle | kMentions));
        ++i;
        continue;
      }
      const std::size_t n = w & 0xffffffffu;
      if (pass == 1 && (w & kPrefix) && n > 0) {
        bool known = false;
        for (std::size_t j = 1; j <= n; ++j)
          known = known || heartbeat_ids_.contains(pending_[i + j]) || absent.contains(pending_[i + j]);
        if (!known) absent.insert(pending_[i + 1]);
      }
      i += 1 + n;
    }
  r_.absent = absent.size();
  for (std::size_t i = 0; i < pending_.size();) {
    const std::uint64_t w = pending_[i];
    if (w & kSingle) {
      const std::uint64_t h = w & ~(kSingle | kMentions);
      if (!heartbeat_ids_.contains(h)) ++(absent.contains(h) ? r_.absent_keys : r_.orphan_keys);
      ++i;
      continue;
    }
    const std::size_t n = w & 0xffffffffu;
    const bool prefix = (w & kPrefix) != 0;
    std::size_t known = 0, gone = 0;
    for (std::size_t j = 1; j <= n; ++j) {
      known += heartbeat_ids_.contains(pending_[i + j]);
      gone += absent.contains(pending_[i + j]);
    }
    if (prefix && known + gone > 1)
      ++r_.ambiguous_keys;
    else if (known == 0 && gone > 0)
      ++r_.absent_keys;
    else if (known == 0)
      ++r_.orphan_keys;
    i += 1 + n;
  }
  pending_.clear();
  pending_.shrink_to_fit();
  heartbeat_ids_.clear();
}

void CensusTally::count_age(std::int64_t now_ms, std::int64_t ts) {
  const double age_s = static_cast<double>(now_ms - ts) / 1000.0;
  std::size_t b = 0;
  while (b < kAgeBounds.size() && age_s > kAgeBounds[b]) ++b;
  ++r_.age_buckets[b];
  r_.age_sum_s += age_s;
}

void CensusTally::on_liveness(std::string_view key, const std::string* value, std::int64_t now_ms) {
  if (!value) return;  // gone since the scan saw it
  last_now_ms_ = std::max(last_now_ms_, now_ms);
  std::string_view id;
  HeartbeatFormat format = schema_.heartbeat_format;
  const std::vector<std::string>* fields = &schema_.heartbeat_fields;
  if (auto h = schema_.heartbeat_id(key)) {
    id = *h;
  } else if (const KeyFamily* f = schema_.family_of(key); f && f->liveness) {
    id = *f->id_part(key);
    format = f->format;
    fields = &f->fields;
  } else {
    return;
  }
  Live& l = live_[id_hash(id)];
  if (value->empty()) return;  // "" or deleted since the scan (GETRANGE cannot tell): counts only alone
  const LivenessVerdict v = judge_liveness(*value, format, *fields, now_ms, threshold_ms_);
  if (v.state == HeartbeatState::invalid) {
    l.invalid = 1;
    return;
  }
  (v.state == HeartbeatState::active ? l.fresh : l.stale) = 1;
  l.ts = std::max(l.ts, v.timestamp_ms);
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
  count_age(now_ms, ts);
}

}  // namespace swarmkeeper::monitor
