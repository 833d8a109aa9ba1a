// SPDX-License-Identifier: Apache-2.0
// cleanup_plan.cpp — see cleanup_plan.hpp (the rules and the safety argument).
#include "coord/cleanup_plan.hpp"

#include "swarmkeeper/client/cluster_slots.hpp"

#include <cassert>

#include <absl/hash/hash.h>

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>

namespace swarmkeeper::coord {

std::array<std::uint8_t, 20> sha1(std::string_view bytes) {
  std::array<std::uint8_t, 20> out{};
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &n, EVP_sha1(), nullptr);
  return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}

std::string sha1_hex(std::string_view bytes) {
  return hex(sha1(bytes));
}

CleanupPlan::CleanupPlan(PlanOptions options) : o_(std::move(options)), live_(o_.schema.liveness()) {
  if (o_.batch_keys == 0) o_.batch_keys = 1;
  o_.park_bytes = std::min<std::size_t>(o_.park_bytes, UINT32_MAX);  // Parked::offset is 32 bits
}

std::vector<std::string> CleanupPlan::on_page(std::uint64_t id, std::span<const std::string_view> keys) {
  Page& page = pages_[id];
  absl::flat_hash_map<std::string_view, std::uint32_t> asked;  // id -> index in page.read_is_heartbeat
  // Every liveness record of an id is read at once (live_.size() reads an id), so that it is
  // judged on all of them.
  auto ask = [&](std::string_view coord_id, bool scanned) {
    if (table_.find(coord_id) >= 0) return;
    auto [it, inserted] =
        asked.try_emplace(coord_id, static_cast<std::uint32_t>(page.read_is_heartbeat.size()));
    if (!inserted) {
      if (scanned) page.read_is_heartbeat[it->second] = 1;
      return;
    }
    for (const LivenessRecord& r : live_) page.reads.push_back(r.prefix + std::string(coord_id));
    page.read_is_heartbeat.push_back(scanned ? 1 : 0);
  };
  for (std::string_view key : keys) {
    ++rep_.keys_scanned;
    if (auto id_of = o_.schema.heartbeat_id(key)) {
      ask(*id_of, true);
      continue;
    }
    const KeyFamily* family = o_.schema.family_of(key);
    if (family == nullptr) continue;  // not ours
    if (family->liveness) {
      ask(*family->id_part(key), true);
      continue;
    }
    // Exact-name keys are derived from their coordinator's id in the final groups; the
    // scan looks at them only to find absent coordinators and orphans.
    if (family->derivable() && !o_.orphans && !o_.absent) continue;
    // Candidates the table does not know come back as absent. None: decided now. Some:
    // each may be a coordinator whose heartbeat the scan has not reached, so the key
    // waits until the table is complete (prefinal), or, when the parking area is full,
    // the candidates' heartbeats are read with this page.
    decide(key, *family, decision_);
    if (decision_.absent.empty()) {
      book(key, *family, decision_, true);
      continue;
    }
    if (decision_.kind == Attribution::keep_alive || decision_.kind == Attribution::ambiguous) {
      // Kept whatever the rest of the scan finds; with absent coordinators reaped it waits
      // all the same (room permitting): a young one is a sign of life of the ids it names.
      if (!o_.absent || !park(key, *family, UINT32_MAX, false)) {
        note_overflow();
        book(key, *family, decision_, true);
      }
      continue;
    }
    if (hold(key, *family)) continue;
    note_overflow();
    for (std::string_view c : cands_) ask(c, false);
    page.keys.emplace_back(key);
  }
  return page.reads;
}

void CleanupPlan::on_reads(std::uint64_t id, std::span<const HeartbeatRead> reads, std::int64_t now_ms) {
  auto it = pages_.find(id);
  if (it == pages_.end()) return;
  Page page = std::move(it->second);
  pages_.erase(it);
  const std::size_t n_live = live_.size();
  for (std::size_t k = 0; k < page.read_is_heartbeat.size() && (k + 1) * n_live <= reads.size(); ++k) {
    const std::string_view coord_id = std::string_view(page.reads[k * n_live]).substr(live_[0].prefix.size());
    if (table_.find(coord_id) >= 0) continue;  // read twice (an earlier page): the first read stands
    bool any = false, fresh = false, stale = false;
    InvalidReason bad = InvalidReason::none;
    std::size_t bad_at = 0;
    std::int64_t ts = 0;
    for (std::size_t r = 0; r < n_live; ++r) {
      const HeartbeatRead& read = reads[k * n_live + r];
      if (read.kind == HeartbeatRead::Kind::empty) continue;  // missing (or "": GETRANGE cannot tell)
      any = true;
      InvalidReason why = InvalidReason::none;
      if (read.kind == HeartbeatRead::Kind::wrong_type)
        why = InvalidReason::wrong_type;
      else if (read.kind == HeartbeatRead::Kind::unavailable)
        why = InvalidReason::unavailable;
      else if (read.bytes.size() > o_.max_heartbeat_bytes)
        why = InvalidReason::too_large;
      else {
        const LivenessVerdict v =
            judge_liveness(read.bytes, live_[r].format, live_[r].fields, now_ms, o_.threshold_ms);
        why = v.reason;
        if (v.state == HeartbeatState::active) fresh = true;
        if (v.state == HeartbeatState::stale) stale = true;
        ts = std::max(ts, v.timestamp_ms);
      }
      if (why != InvalidReason::none && bad == InvalidReason::none) {
        bad = why;
        bad_at = r;
      }
    }
    // A candidate read as absent stays out of the table: not a coordinator (the delete
    // step confirms that in its atomic step). A scanned liveness key gone by the time it
    // was read (expired) leaves its coordinator unreadable for this run.
    if (!any) {
      if (!page.read_is_heartbeat[k]) continue;
      bad = InvalidReason::empty;
      bad_at = 0;
    }
    const CoordState cs = fresh                        ? CoordState::active
                          : bad != InvalidReason::none ? CoordState::invalid
                          : stale                      ? CoordState::stale
                                                       : CoordState::invalid;
    const auto before = table_.size();
    const std::uint32_t at = table_.add(coord_id, ts, cs);
    if (table_.size() == before) continue;
    if (cs == CoordState::invalid) {
      ++invalid_reasons_[static_cast<std::size_t>(bad)];
      if (rep_.invalid_heartbeat_examples.size() < 5)
        rep_.invalid_heartbeat_examples.push_back(page.reads[k * n_live + bad_at]);
      if (rep_.invalid_heartbeat_hint.empty() && bad_at == 0 &&
          reads[k * n_live].kind == HeartbeatRead::Kind::value)
        rep_.invalid_heartbeat_hint = schema_hint(reads[k * n_live].bytes, bad);
    }
    if (cs != CoordState::stale) continue;
    Coordinator& c = table_[at];
    for (std::size_t r = 0; r < n_live; ++r) {
      const HeartbeatRead& read = reads[k * n_live + r];
      if (read.kind != HeartbeatRead::Kind::value) continue;
      c.present |= static_cast<std::uint8_t>(1u << r);
      if (r == 0) {
        c.digest = sha1(read.bytes);
        continue;
      }
      if (c.more_digests == UINT32_MAX) {
        c.more_digests = static_cast<std::uint32_t>(more_digests_.size());
        more_digests_.resize(more_digests_.size() + n_live - 1);
      }
      more_digests_[c.more_digests + r - 1] = sha1(read.bytes);
    }
    ++stale_seen_;
  }
  for (const std::string& key : page.keys) classify(key, true);
}

void CleanupPlan::decide(std::string_view key, const KeyFamily& family, Decision& d) {
  attribute(key, family, table_, cands_, d);
}

void CleanupPlan::classify(std::string_view key, bool may_park) {
  const KeyFamily* family = o_.schema.family_of(key);
  decide(key, *family, decision_);
  book(key, *family, decision_, may_park);
}

// Books a decided key: kept (counted if ambiguous), an orphan, parked with its one stale
// owner, or a group in the open batch.
void CleanupPlan::book(std::string_view key, const KeyFamily& family, const Decision& d, bool may_park) {
  switch (d.kind) {
    case Attribution::keep_alive: return;
    case Attribution::ambiguous: ++rep_.keys_kept_ambiguous; return;
    case Attribution::orphan: {
      ++rep_.orphan_keys_seen;
      if (!o_.orphans) return;
      orphans_.keys.emplace_back(key);
      orphans_.absent.emplace_back(d.absent.begin(), d.absent.end());
      return;
    }
    case Attribution::remove: break;
  }
  if (has_absent_owner(d)) {
    const auto known = booking_ != UINT32_MAX ? key_time_.find(booking_) : key_time_.end();
    const KeyTime time = known != key_time_.end() ? KeyTime(known->second) : kUnknown;
    if (!absent_may_go(d, time)) {
      ++rep_.absent_keys_waiting;
      for (std::uint32_t o : d.owners)
        if (table_[o].state == CoordState::absent) ++absent_[o].waiting;
      return;
    }
    // absent_may_go() holds only for a key read for its timestamps (booking_ set): it
    // joins its coordinator's group, sent once all are booked (flush_absent_groups).
    absent_defer_.emplace_back(d.owners[0], booking_);
    return;
  }
  if (family.derivable()) return;  // its final group takes it
  if (may_park && d.owners.size() == 1 && few_candidates() &&
      park(key, family, d.owners[0], d.absent.empty()))
    return;
  const std::string_view one[1] = {key};
  add_group(d, one, d.owners[0], false);
}

bool CleanupPlan::has_absent_owner(const Decision& d) const {
  for (std::uint32_t o : d.owners)
    if (table_[o].state == CoordState::absent) return true;
  return false;
}

bool CleanupPlan::absent_may_go(const Decision& d, KeyTime time) {
  if (time == kUnknown) return false;  // never read: its age is unknown
  for (std::uint32_t o : d.owners) {
    if (table_[o].state != CoordState::absent) continue;
    const AbsentInfo& a = absent_[o];
    if (a.young) return false;
    if (time == kUntimed && !a.untimed_may_go) return false;
  }
  return true;
}

// A key naming ids the table does not know found the park area full: it is decided with
// the page, never weighed for an absent coordinator, so none of the ids it could mean may
// be reaped as absent in this run (they could have a young key that was never read).
void CleanupPlan::note_overflow() {
  if (!o_.absent) return;
  for (std::string_view c : cands_) overflow_ids_.insert(absl::HashOf(c));
}

bool CleanupPlan::park_room(std::size_t key_size) const {
  return key_size <= UINT16_MAX &&
         parked_bytes_.size() + key_size + (parked_.size() + 1) * sizeof(Parked) < o_.park_bytes;
}

// Stores the key in the arena, in its owner's list (owner UINT32_MAX: the waiting list,
// owner unknown yet). settled: the owner is its only candidate and every candidate was
// known, so nothing found later can change its verdict. False if there is no room.
bool CleanupPlan::park(std::string_view key, const KeyFamily& family, std::uint32_t owner, bool settled) {
  if (!park_room(key.size())) {
    ++unparked_;
    return false;
  }
  std::uint32_t* head = &waiting_;
  if (owner != UINT32_MAX) {
    Coordinator& c = table_[owner];
    if (c.parked_count >= kMaxParkedPerCoordinator) return false;
    ++c.parked_count;
    head = &c.parked;
  }
  const std::string_view rest = key.substr(family.prefix.size());  // the family gives the prefix back
  parked_.push_back(Parked{*head, static_cast<std::uint32_t>(parked_bytes_.size()),
                           static_cast<std::uint16_t>(rest.size()),
                           static_cast<std::uint8_t>(&family - o_.schema.families.data()),
                           static_cast<std::uint8_t>(settled && owner != UINT32_MAX)});
  parked_bytes_.append(rest);
  *head = static_cast<std::uint32_t>(parked_.size() - 1);
  return true;
}

// A key with candidates the table does not know yet (decision_ holds its decision with
// them as absent): held with its one known stale owner, or in the waiting list. False
// when the parking area is full (the caller reads the candidates instead).
// A key with many candidates (an idempotency record names sender, receiver, type, ...)
// waits too when absent coordinators are reaped: its owner may be one.
bool CleanupPlan::hold(std::string_view key, const KeyFamily& family) {
  if (!few_candidates() && !o_.absent) return false;
  if (few_candidates() && decision_.owners.size() == 1 && park(key, family, decision_.owners[0], false))
    return true;
  return park(key, family, UINT32_MAX, false);
}

void CleanupPlan::add_group(const Decision& d, std::span<const std::string_view> keys, std::uint32_t credit,
                            bool reap) {
  CheckedUnlink::Group g;
  auto check = [&](std::string key, std::string expect) {
    auto [it, inserted] = open_checks_.try_emplace(key, static_cast<std::uint32_t>(open_.check_keys.size()));
    if (inserted) {
      open_.payload_bytes += key.size() + expect.size();
      open_.check_keys.push_back(std::move(key));
      open_.expect.push_back(std::move(expect));
    }
    g.checks.push_back(it->second);
  };
  for (std::uint32_t o : d.owners) owner_checks(o, check);
  for (std::string_view a : d.absent) absent_checks(a, check);
  for (auto& [key, expect] : extra_checks_) check(std::move(key), std::move(expect));
  extra_checks_.clear();
  for (std::string_view k : keys) {
    open_.keys.emplace_back(k);
    open_.payload_bytes += k.size();
  }
  g.keys = static_cast<std::uint32_t>(keys.size());
  g.credit = credit;
  g.reap = reap;
  open_.groups.push_back(std::move(g));
  if (!hold_flush_ && batch_full()) flush_open();
}

void CleanupPlan::owner_checks(std::uint32_t o, const std::function<void(std::string, std::string)>& check) {
  const Coordinator& c = table_[o];
  if (c.state == CoordState::absent) return absent_checks(c.id, check);
  for (std::size_t r = 0; r < live_.size(); ++r) {
    std::string expect;
    if (c.present & (1u << r)) expect = hex(r == 0 ? c.digest : more_digests_[c.more_digests + r - 1]);
    check(live_[r].prefix + std::string(c.id), std::move(expect));
  }
}

void CleanupPlan::absent_checks(std::string_view id,
                                const std::function<void(std::string, std::string)>& check) {
  for (const LivenessRecord& r : live_) check(r.prefix + std::string(id), "");
}

void CleanupPlan::flush_open() {
  if (open_.groups.empty()) return;
  open_.orphans = filling_orphans_;
  ready_.push_back(std::move(open_));
  open_ = CheckedUnlink{};
  open_checks_.clear();
}

CheckedUnlink CleanupPlan::take_batch() {
  assert(!ready_.empty());
  CheckedUnlink b = std::move(ready_.front());
  ready_.pop_front();
  return b;
}

void CleanupPlan::on_outcome(const CheckedUnlink& b, const UnlinkOutcome& outcome) {
  // failed[c]: 1 a check did not hold; 2 it was another possible owner appearing.
  std::vector<std::uint8_t> failed(b.check_keys.size(), 0);
  if (outcome.contended) ++contended_;
  for (std::uint32_t f : outcome.failed) {
    if (f >= failed.size()) continue;
    failed[f] = 1;
    if (outcome.contended) continue;
    const bool in_window = std::find(outcome.window.begin(), outcome.window.end(), f) != outcome.window.end();
    if (std::find(outcome.gone.begin(), outcome.gone.end(), f) != outcome.gone.end())
      continue;  // deleted, not renewed
    // A liveness record of a coordinator found stale or absent that changed or came back:
    // a renewal. Of an id the table does not know: another owner appeared.
    const auto id = liveness_id(b.check_keys[f]);
    const auto i = id ? table_.find(*id) : -1;
    if (i < 0) {
      if (b.expect[f].empty() && !in_window) failed[f] = 2;  // its keys kept: ambiguous (in the window: gone)
      continue;
    }
    Coordinator& c = table_[static_cast<std::uint32_t>(i)];
    if (!c.renewed) {
      c.renewed = true;
      ++rep_.renewed_during_run;
    }
  }
  for (const auto& g : b.groups) {
    bool pass = true, appeared = false;
    for (std::uint32_t c : g.checks) {
      if (!failed[c]) continue;
      pass = false;
      appeared = appeared || failed[c] == 2;
    }
    if (!pass) {
      if (appeared) rep_.keys_kept_ambiguous += g.keys;
      continue;
    }
    if (g.credit < table_.size()) {
      Coordinator& c = table_[g.credit];
      c.keys_deleted =
          static_cast<std::uint16_t>(std::min<std::uint32_t>(UINT16_MAX, c.keys_deleted + g.keys));
      if (c.state == CoordState::absent) {
        rep_.absent_keys_deleted += g.keys;
        c.reaped = true;  // for the audit stream; counted in count_absent()
      }
      if (g.reap && !c.reaped) {
        c.reaped = true;
        ++rep_.coordinators_reaped;
      }
    }
  }
  if (b.orphans)
    rep_.orphans_deleted += outcome.unlinked;
  else
    rep_.keys_deleted += outcome.unlinked;
}

std::optional<std::string_view> CleanupPlan::liveness_id(std::string_view key) const {
  for (const LivenessRecord& r : live_)
    if (key.size() > r.prefix.size() && key.compare(0, r.prefix.size(), r.prefix) == 0)
      return key.substr(r.prefix.size());
  return std::nullopt;
}

OrphanCandidates CleanupPlan::take_orphans() {
  OrphanCandidates out;
  const std::size_t n = std::min(o_.batch_keys, orphans_.keys.size());
  out.keys.assign(std::make_move_iterator(orphans_.keys.end() - static_cast<std::ptrdiff_t>(n)),
                  std::make_move_iterator(orphans_.keys.end()));
  out.absent.assign(std::make_move_iterator(orphans_.absent.end() - static_cast<std::ptrdiff_t>(n)),
                    std::make_move_iterator(orphans_.absent.end()));
  orphans_.keys.resize(orphans_.keys.size() - n);
  orphans_.absent.resize(orphans_.absent.size() - n);
  return out;
}

void CleanupPlan::on_orphan_values(const OrphanCandidates& c, std::span<const HeartbeatRead> reads,
                                   std::int64_t now_ms) {
  flush_open();
  filling_orphans_ = true;
  std::string value;
  for (std::size_t i = 0; i < c.keys.size() && i < reads.size(); ++i) {
    const HeartbeatRead& r = reads[i];
    if (r.kind == HeartbeatRead::Kind::empty || r.kind == HeartbeatRead::Kind::unavailable ||
        r.bytes.size() > o_.max_heartbeat_bytes)
      continue;
    value.assign(r.kind == HeartbeatRead::Kind::value ? r.bytes : std::string_view{});
    const auto ts =
        key_timestamp(c.keys[i], r.kind == HeartbeatRead::Kind::value ? &value : nullptr, o_.schema);
    if (!ts || *ts >= now_ms || now_ms - *ts <= o_.threshold_ms) continue;  // no timestamp, or young: kept
    Decision d;
    d.kind = Attribution::remove;
    d.absent.assign(c.absent[i].begin(), c.absent[i].end());
    if (r.kind == HeartbeatRead::Kind::value) {  // the bytes read must still be there
      extra_checks_.emplace_back(c.keys[i], sha1_hex(r.bytes));
    }
    const std::string_view one[1] = {c.keys[i]};
    add_group(d, one, UINT32_MAX, false);
  }
  flush_open();
  filling_orphans_ = false;
}

void CleanupPlan::end_scan() {
  flush_open();
}

bool CleanupPlan::prefinal(std::size_t max_orphans) {
  // The table is complete now: a candidate it does not know has no heartbeat (the delete
  // step confirms that). Waiting keys are attributed: one stale owner's join its list,
  // the rest are kept, orphans, or go through the ordinary batches. Stops early (false)
  // once max_orphans orphans wait for their idle times.
  while (waiting_ != UINT32_MAX) {
    if (orphans_.keys.size() >= max_orphans) {
      flush_open();
      return false;
    }
    const std::uint32_t at = waiting_;
    const std::uint32_t next = parked_[at].next;
    waiting_ = next;
    const Parked& p = parked_[at];
    const KeyFamily& family = o_.schema.families[p.family];
    const std::string_view key = parked_key(p);
    decide(key, family, decision_);
    if (decision_.kind == Attribution::remove && decision_.owners.size() == 1 && !family.derivable() &&
        few_candidates() && table_[decision_.owners[0]].state == CoordState::stale) {
      Coordinator& c = table_[decision_.owners[0]];
      if (c.parked_count < kMaxParkedPerCoordinator) {
        ++c.parked_count;
        parked_[at].next = c.parked;
        parked_[at].settled = decision_.absent.empty();  // decided on the complete table
        c.parked = at;
        continue;
      }
    }
    booking_ = at;  // its KeyTime and digest, if it was read for an absent coordinator
    book(key, family, decision_, false);
    booking_ = UINT32_MAX;
  }
  if (lists_settled_) return true;
  lists_settled_ = true;
  // Parked keys were one stale owner's when parked. A candidate may have been found
  // since: attribute again; keys that are no longer that owner's alone go through the
  // ordinary batches, before the final groups.
  for (std::uint32_t i = 0; i < table_.size(); ++i) {
    Coordinator& c = table_[i];
    std::uint32_t* link = &c.parked;
    while (*link != UINT32_MAX) {
      Parked& p = parked_[*link];
      if (p.settled) {
        link = &p.next;
        continue;
      }
      const KeyFamily& family = o_.schema.families[p.family];
      const std::string_view key = parked_key(p);
      decide(key, family, decision_);
      if (decision_.kind == Attribution::remove && decision_.owners.size() == 1 && decision_.owners[0] == i) {
        p.settled = decision_.absent.empty();  // the table is complete: final
        link = &p.next;
        continue;
      }
      const std::uint32_t at = *link;
      *link = p.next;  // unlink from the list; classify books it (kept, or a batch now)
      --c.parked_count;
      booking_ = at;
      classify(key, false);
      booking_ = UINT32_MAX;
    }
  }
  flush_absent_groups();
  flush_open();
  return true;
}

bool CleanupPlan::final_groups(std::size_t max_ready) {
  // Per stale coordinator, in one batch: a group per parked key that also names ids
  // without a heartbeat (so one of them appearing keeps only that key), then one group
  // with its other parked keys, its exact-name keys and its heartbeat, last.
  std::vector<std::string> keys;
  std::vector<std::string_view> views;
  Decision group;
  if (order_.size() != table_.size()) {  // the table is complete: fix the visiting order once
    order_.resize(table_.size());
    for (std::uint32_t i = 0; i < table_.size(); ++i) order_[i] = i;
    if (o_.slot_order) {
      std::vector<std::uint16_t> slot(table_.size());
      for (std::uint32_t i = 0; i < table_.size(); ++i)
        slot[i] = key_slot(o_.schema.heartbeat_key(table_[i].id));
      std::stable_sort(order_.begin(), order_.end(),
                       [&](std::uint32_t a, std::uint32_t b) { return slot[a] < slot[b]; });
    }
  }
  for (; final_next_ < table_.size() && ready_.size() < max_ready; ++final_next_) {
    const std::uint32_t i = order_[final_next_];
    const Coordinator& c = table_[i];
    if (c.state != CoordState::stale || c.renewed) continue;
    keys.clear();
    hold_flush_ = true;  // a coordinator's groups share one batch: its heartbeat must not go first
    for (std::uint32_t at = c.parked; at != UINT32_MAX; at = parked_[at].next) {
      const Parked& p = parked_[at];
      const std::string_view key = parked_key(p);
      if (p.settled) {
        keys.emplace_back(key);
        continue;
      }
      // After prefinal every candidate but the owner is one the complete table does not
      // know (anything else took the key out of this list): those must still not exist.
      decision_.owners.assign(1, i);
      decision_.absent.clear();
      structural_candidates(key, o_.schema.families[p.family], cands_);
      for (std::string_view cand : cands_)
        if (cand != c.id &&
            std::find(decision_.absent.begin(), decision_.absent.end(), cand) == decision_.absent.end())
          decision_.absent.push_back(cand);
      if (decision_.absent.empty()) {
        keys.emplace_back(key);
        continue;
      }
      const std::string_view one[1] = {key};
      add_group(decision_, one, i, false);
    }
    for (const KeyFamily& f : o_.schema.families)
      if (f.derivable()) keys.push_back(f.prefix + std::string(c.id));
    keys.push_back(o_.schema.heartbeat_key(c.id));  // last: the key everything else is attributed by
    views.assign(keys.begin(), keys.end());
    group.owners.assign(1, i);
    group.absent.clear();
    add_group(group, views, i, true);
    hold_flush_ = false;
    if (batch_full()) flush_open();
  }
  if (final_next_ < table_.size()) return false;
  flush_open();
  return true;
}

void CleanupPlan::count_coordinators() {
  rep_.stale_coordinators_found = rep_.active_coordinators = rep_.invalid_heartbeats = 0;
  rep_.stale_coordinator_ids.clear();
  rep_.stale_coordinator_ids_omitted = 0;
  for (std::uint32_t i = 0; i < table_.size(); ++i) {
    const Coordinator& c = table_[i];
    if (c.state == CoordState::stale) {
      ++rep_.stale_coordinators_found;
      if (rep_.stale_coordinator_ids.size() < o_.max_reported_ids)
        rep_.stale_coordinator_ids.emplace_back(c.id);
      else
        ++rep_.stale_coordinator_ids_omitted;
    } else if (c.state == CoordState::active) {
      ++rep_.active_coordinators;
    } else if (c.state == CoordState::invalid) {
      ++rep_.invalid_heartbeats;
    }
  }
  rep_.total_coordinators_checked =
      rep_.stale_coordinators_found + rep_.active_coordinators + rep_.invalid_heartbeats;
  rep_.invalid_heartbeat_reasons.clear();
  for (std::size_t r = 0; r < kInvalidReasons; ++r)
    if (invalid_reasons_[r] > 0)
      rep_.invalid_heartbeat_reasons.emplace_back(invalid_reason_name(static_cast<InvalidReason>(r)),
                                                  invalid_reasons_[r]);
}

}  // namespace swarmkeeper::coord
