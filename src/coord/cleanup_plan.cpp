// cleanup_plan.cpp — see cleanup_plan.hpp (the rules and the safety argument).
#include "coord/cleanup_plan.hpp"

#include "swarmkeeper/cluster_slots.hpp"

#include <cassert>

#include <openssl/evp.h>

#include <algorithm>

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

std::string sha1_hex(std::string_view bytes) { return hex(sha1(bytes)); }

CleanupPlan::CleanupPlan(PlanOptions options) : o_(std::move(options)) {
  if (o_.batch_keys == 0) o_.batch_keys = 1;
  o_.park_bytes = std::min<std::size_t>(o_.park_bytes, UINT32_MAX);  // Parked::offset is 32 bits
}

std::vector<std::string> CleanupPlan::on_page(std::uint64_t id, std::span<const std::string_view> keys) {
  Page& page = pages_[id];
  absl::flat_hash_map<std::string, std::uint32_t> asked;  // heartbeat key -> index in page.reads
  auto ask = [&](std::string_view hb_id, bool scanned) {
    if (table_.find(hb_id) >= 0) return;
    std::string key = o_.schema.heartbeat_key(hb_id);
    auto [it, inserted] = asked.try_emplace(key, static_cast<std::uint32_t>(page.reads.size()));
    if (!inserted) {
      if (scanned) page.read_is_heartbeat[it->second] = 1;
      return;
    }
    page.reads.push_back(std::move(key));
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
    // Exact-name keys are derived from their coordinator's id in the final groups; the
    // scan looks at them only to find orphans.
    if (family->match == KeyFamily::Match::exact && !o_.orphans) continue;
    // Candidates the table does not know come back as absent. None: decided now. Some:
    // each may be a coordinator whose heartbeat the scan has not reached, so the key
    // waits until the table is complete (prefinal), or, when the parking area is full,
    // the candidates' heartbeats are read with this page.
    decide(key, *family, decision_);
    if (decision_.absent.empty() || decision_.kind == Attribution::keep_alive || decision_.kind == Attribution::ambiguous) {
      book(key, *family, decision_, true);
      continue;
    }
    if (hold(key, *family)) continue;
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
  for (std::size_t i = 0; i < page.reads.size() && i < reads.size(); ++i) {
    const std::string_view hb_id = *o_.schema.heartbeat_id(page.reads[i]);  // built by heartbeat_key()
    const HeartbeatRead& r = reads[i];
    if (table_.find(hb_id) >= 0) continue;  // read twice (an earlier page): the first read stands
    // A candidate read as absent stays out of the table: not a coordinator (the delete
    // step confirms that in its atomic step).
    if (r.kind == HeartbeatRead::Kind::empty && !page.read_is_heartbeat[i]) continue;
    std::int64_t ts = 0;
    HeartbeatState state = HeartbeatState::invalid;
    if (r.kind == HeartbeatRead::Kind::value && r.bytes.size() <= o_.max_heartbeat_bytes)
      state = judge_heartbeat(r.bytes, o_.schema, now_ms, o_.threshold_ms, &ts);
    const CoordState cs = state == HeartbeatState::stale ? CoordState::stale
                          : state == HeartbeatState::active ? CoordState::active
                                                            : CoordState::invalid;
    const auto before = table_.size();
    const std::uint32_t at = table_.add(hb_id, ts, cs);
    if (cs == CoordState::stale && table_.size() > before) {
      table_[at].digest = sha1(r.bytes);
      ++stale_seen_;
    }
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
  if (family.match == KeyFamily::Match::exact) return;  // its final group takes it
  if (may_park && d.owners.size() == 1 && few_candidates() && park(key, family, d.owners[0], d.absent.empty())) return;
  const std::string_view one[1] = {key};
  add_group(d, one, d.owners[0], false);
}

bool CleanupPlan::park_room(std::size_t key_size) const {
  return key_size <= UINT16_MAX && parked_bytes_.size() + key_size + (parked_.size() + 1) * sizeof(Parked) < o_.park_bytes;
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
  parked_.push_back(Parked{*head, static_cast<std::uint32_t>(parked_bytes_.size()), static_cast<std::uint16_t>(rest.size()),
                           static_cast<std::uint8_t>(&family - o_.schema.families.data()),
                           static_cast<std::uint8_t>(settled && owner != UINT32_MAX)});
  parked_bytes_.append(rest);
  *head = static_cast<std::uint32_t>(parked_.size() - 1);
  return true;
}

// A key with candidates the table does not know yet (decision_ holds its decision with
// them as absent): held with its one known stale owner, or in the waiting list. False
// when the parking area is full (the caller reads the candidates instead).
bool CleanupPlan::hold(std::string_view key, const KeyFamily& family) {
  if (!few_candidates()) return false;
  if (decision_.owners.size() == 1 && park(key, family, decision_.owners[0], false)) return true;
  return park(key, family, UINT32_MAX, false);
}

void CleanupPlan::add_group(const Decision& d, std::span<const std::string_view> keys, std::uint32_t credit, bool reap) {
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
  for (std::uint32_t o : d.owners) check(o_.schema.heartbeat_key(table_[o].id), hex(table_[o].digest));
  for (std::string_view a : d.absent) check(o_.schema.heartbeat_key(a), "");
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
  std::vector<std::uint8_t> failed(b.check_keys.size(), 0);
  if (outcome.contended) ++contended_;
  for (std::uint32_t f : outcome.failed) {
    if (f >= failed.size()) continue;
    failed[f] = 1;
    if (b.expect[f].empty() || outcome.contended) continue;  // an owner appeared: counted with its keys below
    if (std::find(outcome.gone.begin(), outcome.gone.end(), f) != outcome.gone.end()) continue;  // deleted, not renewed
    const auto id = o_.schema.heartbeat_id(b.check_keys[f]);
    const auto i = id ? table_.find(*id) : -1;
    if (i < 0) continue;
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
      appeared = appeared || b.expect[c].empty();
    }
    if (!pass) {
      if (appeared) rep_.keys_kept_ambiguous += g.keys;
      continue;
    }
    if (g.credit < table_.size()) {
      Coordinator& c = table_[g.credit];
      c.keys_deleted = static_cast<std::uint16_t>(std::min<std::uint32_t>(UINT16_MAX, c.keys_deleted + g.keys));
      if (g.reap && !c.reaped) {
        c.reaped = true;
        ++rep_.coordinators_reaped;
      }
    }
  }
  if (b.orphans) rep_.orphans_deleted += outcome.unlinked;
  else rep_.keys_deleted += outcome.unlinked;
}

void CleanupPlan::drop_orphans() {
  orphans_ = OrphanCandidates{};
  o_.orphans = false;
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

void CleanupPlan::on_orphan_idle(const OrphanCandidates& c, std::span<const std::int64_t> idle_s) {
  // OBJECT IDLETIME counts whole seconds of the server's LRU clock: a key touched moments
  // ago may already read 1, so demand one second more than the threshold.
  const std::int64_t min_idle = (o_.threshold_ms + 999) / 1000 + 1;
  flush_open();
  filling_orphans_ = true;
  for (std::size_t i = 0; i < c.keys.size() && i < idle_s.size(); ++i) {
    if (idle_s[i] <= min_idle) continue;
    Decision d;
    d.kind = Attribution::remove;
    d.absent.assign(c.absent[i].begin(), c.absent[i].end());
    const std::string_view one[1] = {c.keys[i]};
    add_group(d, one, UINT32_MAX, false);
  }
  flush_open();
  filling_orphans_ = false;
}

void CleanupPlan::end_scan() { flush_open(); }

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
    if (decision_.kind == Attribution::remove && decision_.owners.size() == 1 && family.match != KeyFamily::Match::exact &&
        few_candidates()) {
      Coordinator& c = table_[decision_.owners[0]];
      if (c.parked_count < kMaxParkedPerCoordinator) {
        ++c.parked_count;
        parked_[at].next = c.parked;
        parked_[at].settled = decision_.absent.empty();  // decided on the complete table
        c.parked = at;
        continue;
      }
    }
    classify(key, false);
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
      *link = p.next;  // unlink from the list; classify books it (kept, or a batch now)
      --c.parked_count;
      classify(key, false);
    }
  }
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
      for (std::uint32_t i = 0; i < table_.size(); ++i) slot[i] = key_slot(o_.schema.heartbeat_key(table_[i].id));
      std::stable_sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) { return slot[a] < slot[b]; });
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
        if (cand != c.id && std::find(decision_.absent.begin(), decision_.absent.end(), cand) == decision_.absent.end())
          decision_.absent.push_back(cand);
      if (decision_.absent.empty()) {
        keys.emplace_back(key);
        continue;
      }
      const std::string_view one[1] = {key};
      add_group(decision_, one, i, false);
    }
    for (const KeyFamily& f : o_.schema.families)
      if (f.match == KeyFamily::Match::exact) keys.push_back(f.prefix + std::string(c.id));
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
      if (rep_.stale_coordinator_ids.size() < o_.max_reported_ids) rep_.stale_coordinator_ids.emplace_back(c.id);
      else ++rep_.stale_coordinator_ids_omitted;
    } else if (c.state == CoordState::active) {
      ++rep_.active_coordinators;
    } else {
      ++rep_.invalid_heartbeats;
    }
  }
  rep_.total_coordinators_checked = table_.size();
}

}  // namespace swarmkeeper::coord
