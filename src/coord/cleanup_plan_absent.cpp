// SPDX-License-Identifier: Apache-2.0
// cleanup_plan_absent.cpp — the plan's rules for absent coordinators (cleanup_plan.hpp
// states them): naming them from the waiting keys, tallying the timestamps their keys
// carry, and the record of when each was first seen absent. No I/O.
#include "coord/cleanup_plan.hpp"

#include <algorithm>
#include <charconv>

#include <absl/hash/hash.h>

namespace swarmkeeper::coord {

namespace {
// 64 bits of a key name's SHA-1: the same on every host and in every run.
std::uint64_t name_hash(std::string_view key) {
  const auto d = sha1(key);
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | d[static_cast<std::size_t>(i)];
  return h;
}
}  // namespace

void CleanupPlan::find_absent(std::int64_t now_ms) {
  absent_now_ms_ = now_ms;
  if (!o_.absent) return;
  // 1. Name them: an exact (or template) key, then an id_prefix key, none of whose
  //    candidates the table knows names an absent coordinator (id_prefix: the first
  //    candidate; its other readings stay unknown ids, checked to have no liveness).
  for (int pass = 0; pass < 2; ++pass)
    for (std::uint32_t at = waiting_; at != UINT32_MAX; at = parked_[at].next) {
      const KeyFamily& family = o_.schema.families[parked_[at].family];
      if (family.match == KeyFamily::Match::mentions ||
          (pass == 0) != (family.match == KeyFamily::Match::exact))
        continue;
      const std::string_view key = parked_key(parked_[at]);
      if (!structural_candidates(key, family, cands_) || cands_.empty()) continue;
      bool known = false;
      for (std::string_view c : cands_) known = known || table_.find(c) >= 0;
      if (known) continue;
      const std::uint32_t i = table_.add(cands_[0], 0, CoordState::absent);
      absent_.try_emplace(i);
    }
  if (absent_.empty()) return;
  for (auto& [i, a] : absent_)
    if (overflow_ids_.contains(absl::HashOf(table_[i].id))) {
      a.young = true;  // not every key naming it was weighed: it waits
      ++absent_incomplete_;
    }
  overflow_ids_.clear();
  // 2. Their keys — waiting ones, and parked ones that named an id unknown then (a key
  //    naming a stale and an absent coordinator): a timestamp in the name counts now;
  //    the others are read.
  // Every such key is read: the youngest of the timestamps its name and its value carry
  // counts, and it goes only if it still holds the bytes read. A key that names an absent
  // coordinator but is kept (ambiguous, or also a living one's) is read too: a young one
  // is a sign of life of each absent id it could belong to.
  auto visit = [&](std::uint32_t at) {
    const KeyFamily& family = o_.schema.families[parked_[at].family];
    const std::string_view key = parked_key(parked_[at]);
    decide(key, family, decision_);
    if (decision_.kind == Attribution::remove) {
      if (has_absent_owner(decision_)) absent_reads_.push_back(at);
      return;
    }
    if (!structural_candidates(key, family, cands_)) cands_.clear();  // too many to list: none kept young
    for (std::string_view c : cands_)
      if (auto i = table_.find(c);
          i >= 0 && table_[static_cast<std::uint32_t>(i)].state == CoordState::absent) {
        evidence_only_.insert(at);
        absent_reads_.push_back(at);
        return;
      }
  };
  for (std::uint32_t at = waiting_; at != UINT32_MAX; at = parked_[at].next) visit(at);
  for (std::uint32_t i = 0; i < table_.size(); ++i)
    for (std::uint32_t at = table_[i].parked; at != UINT32_MAX; at = parked_[at].next)
      if (!parked_[at].settled) visit(at);
}

void CleanupPlan::tally_absent_key(std::string_view key, const Decision& d, std::optional<std::int64_t> ts,
                                   const std::string* own_value) {
  for (std::uint32_t o : d.owners) {
    if (table_[o].state != CoordState::absent) continue;
    AbsentInfo& a = absent_[o];
    if (ts) {
      ++a.timed;
      a.youngest_ms = std::max(a.youngest_ms, *ts);
      table_[o].timestamp_ms = a.youngest_ms;
      if (*ts >= absent_now_ms_ || absent_now_ms_ - *ts <= o_.threshold_ms) a.young = true;
    } else {
      ++a.untimed;
      // The fingerprint covers its own keys (exact, template, id_prefix; not the
      // mentions records others write about it), names and values: one written or
      // rewritten since the first sighting starts the clock again.
      if (own_value != nullptr) {
        std::string both(key);
        both.push_back('\0');
        both += *own_value;
        a.untimed_fp += name_hash(both);  // order-free: a set's sum
        ++a.untimed_own;
      }
    }
  }
}

std::vector<std::string> CleanupPlan::take_absent_reads(std::size_t max) {
  std::vector<std::string> out;
  absent_read_from_ = absent_read_next_;
  for (; absent_read_next_ < absent_reads_.size() && out.size() < max; ++absent_read_next_)
    out.emplace_back(parked_key(parked_[absent_reads_[absent_read_next_]]));
  return out;
}

void CleanupPlan::on_absent_values(std::span<const HeartbeatRead> reads) {
  std::string value;
  for (std::size_t i = 0; i < reads.size() && absent_read_from_ + i < absent_read_next_; ++i) {
    const std::uint32_t at = absent_reads_[absent_read_from_ + i];
    const HeartbeatRead& r = reads[i];
    const KeyFamily& family = o_.schema.families[parked_[at].family];
    const std::string_view key = parked_key(parked_[at]);
    if (r.kind == HeartbeatRead::Kind::empty) continue;  // gone (or ""): nothing to weigh, it stays
    // Not a string, too large or unreadable now: its age is unknown, so it may be young:
    // nothing of the absent coordinators it names goes in this run.
    if (r.kind != HeartbeatRead::Kind::value || r.bytes.size() > o_.max_heartbeat_bytes) {
      mark_young(key, family);
      continue;
    }
    value.assign(r.bytes);
    const std::optional<std::int64_t> ts = key_timestamp(key, &value, o_.schema);
    if (evidence_only_.contains(at)) {  // kept whatever happens: only a sign of life
      if (ts && (*ts >= absent_now_ms_ || absent_now_ms_ - *ts <= o_.threshold_ms)) mark_young(key, family);
      continue;
    }
    key_digest_[at] = sha1(r.bytes);  // it must still hold these bytes when it goes
    key_time_[at] = ts ? kTimed : kUntimed;
    decide(key, family, decision_);
    tally_absent_key(key, decision_, ts, family.match != KeyFamily::Match::mentions ? &value : nullptr);
  }
}

void CleanupPlan::flush_absent_groups() {
  // A coordinator's own keys (its name alone: exact, template, an ACK with one reading)
  // go in one group, each checked to still hold the bytes read: one that changed since
  // keeps all of them. Keys it shares (an idempotency record naming others) go one by
  // one, with their own checks, so another coordinator coming back keeps only those.
  // A group stays bounded: at most kMaxKeys keys (a coordinator with more is split).
  constexpr std::size_t kMaxKeys = 32;
  std::stable_sort(absent_defer_.begin(), absent_defer_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> keys;
  std::vector<std::string_view> views;
  Decision own;
  own.kind = Attribution::remove;
  std::uint32_t credit = UINT32_MAX;
  auto send_own = [&] {
    if (keys.empty()) return;
    extra_checks_.insert(extra_checks_.end(), pending_own_checks_.begin(), pending_own_checks_.end());
    pending_own_checks_.clear();
    views.assign(keys.begin(), keys.end());
    own.owners.assign(1, credit);
    own.absent.clear();
    hold_flush_ = true;  // one group, one batch
    add_group(own, views, credit, false);
    hold_flush_ = false;
    if (batch_full()) flush_open();
    keys.clear();
  };
  for (const auto& [owner, at] : absent_defer_) {
    if (owner != credit || keys.size() >= kMaxKeys) {
      send_own();
      credit = owner;
    }
    const KeyFamily& family = o_.schema.families[parked_[at].family];
    const std::string key(parked_key(parked_[at]));
    decide(key, family, decision_);
    const auto dg = key_digest_.find(at);
    const bool alone =
        decision_.owners.size() == 1 && decision_.owners[0] == owner && decision_.absent.empty();
    if (alone) {
      if (dg != key_digest_.end()) pending_own_checks_.emplace_back(key, hex(dg->second));
      keys.push_back(key);
      continue;
    }
    if (dg != key_digest_.end()) extra_checks_.emplace_back(key, hex(dg->second));
    const std::string_view one[1] = {key};
    add_group(decision_, one, owner, false);
  }
  send_own();
  absent_defer_.clear();
}

void CleanupPlan::mark_young(std::string_view key, const KeyFamily& family) {
  if (!structural_candidates(key, family, cands_)) return;
  for (std::string_view c : cands_)
    if (auto j = table_.find(c); j >= 0 && table_[static_cast<std::uint32_t>(j)].state == CoordState::absent)
      absent_[static_cast<std::uint32_t>(j)].young = true;
}

namespace {
std::string fingerprint(std::uint64_t sum, std::uint32_t count) {
  std::array<std::uint8_t, 8> b{};
  const std::uint64_t v = sum ^ (static_cast<std::uint64_t>(count) * 0x9E3779B97F4A7C15ull);
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
  return hex(b);
}
}  // namespace

std::vector<std::string> CleanupPlan::absent_record_ids() const {
  std::vector<std::string> out;
  for (const auto& [i, a] : absent_)
    if (a.untimed > 0 && !a.young) out.emplace_back(table_[i].id);
  return out;
}

std::vector<AbsentRecordWrite> CleanupPlan::on_absent_records(std::span<const std::string> ids,
                                                              std::span<const std::string* const> values,
                                                              std::size_t max_writes) {
  std::vector<AbsentRecordWrite> writes;
  std::size_t new_records = 0;
  for (std::size_t k = 0; k < ids.size() && k < values.size(); ++k) {
    const auto i = table_.find(ids[k]);
    if (i < 0) continue;
    AbsentInfo& a = absent_[static_cast<std::uint32_t>(i)];
    const std::string fp = fingerprint(a.untimed_fp, a.untimed_own);
    const bool rewrite = values[k] != nullptr;  // replaces a field: needs no room
    if (const std::string* v = values[k]) {
      const auto colon = v->find(':');
      std::int64_t first = 0;
      const bool ok = colon != std::string::npos && colon > 0 && colon <= 19 &&
                      std::from_chars(v->data(), v->data() + colon, first).ptr == v->data() + colon &&
                      first > 0;
      if (ok && v->compare(colon + 1, std::string::npos, fp) == 0) {
        // Seen absent since `first` with these same keys.
        a.untimed_may_go = first < absent_now_ms_ && absent_now_ms_ - first > o_.threshold_ms;
        continue;
      }
    }
    if (!rewrite && new_records >= max_writes) {
      ++rep_.absent_not_recorded;
      continue;
    }
    new_records += rewrite ? 0 : 1;
    writes.push_back(AbsentRecordWrite{ids[k], std::to_string(absent_now_ms_) + ":" + fp, rewrite});
    ++rep_.absent_recorded;
  }
  return writes;
}

bool CleanupPlan::keep_absent_record(std::string_view id) const {
  const auto i = table_.find(id);
  if (i < 0 || table_[static_cast<std::uint32_t>(i)].state != CoordState::absent) return false;
  const auto it = absent_.find(static_cast<std::uint32_t>(i));
  return it != absent_.end() && it->second.untimed > 0 && !it->second.untimed_may_go;
}

void CleanupPlan::count_absent() {
  rep_.absent_coordinators_found = absent_.size();
  rep_.absent_reaped_by_timestamps = rep_.absent_reaped_after_waiting = rep_.absent_waiting = 0;
  for (const auto& [i, a] : absent_) {
    if (a.waiting > 0 || a.young || (a.untimed > 0 && !a.untimed_may_go) ||
        (a.timed == 0 && a.untimed == 0)) {
      ++rep_.absent_waiting;
      continue;
    }
    if (table_[i].keys_deleted == 0) continue;
    if (a.untimed > 0)
      ++rep_.absent_reaped_after_waiting;
    else
      ++rep_.absent_reaped_by_timestamps;
  }
}

}  // namespace swarmkeeper::coord
