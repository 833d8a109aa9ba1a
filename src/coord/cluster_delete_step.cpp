// SPDX-License-Identifier: Apache-2.0
// cluster_delete_step.cpp — see cluster_delete_step.hpp.
#include "coord/cluster_delete_step.hpp"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <map>
#include <utility>

#include "coord/scripts.hpp"

namespace swarmkeeper::coord {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Fills one part: checks are copied once each, in the order groups first use them.
struct PartBuilder {
  SlotSplit::Part part;
  absl::flat_hash_map<std::uint32_t, std::uint32_t> local;

  void add(const CheckedUnlink& b, const CheckedUnlink::Group& g, const std::vector<std::size_t>& keys,
           bool reap) {
    CheckedUnlink& p = part.batch;
    CheckedUnlink::Group out;
    for (std::uint32_t c : g.checks) {
      auto [it, fresh] = local.try_emplace(c, static_cast<std::uint32_t>(p.check_keys.size()));
      if (fresh) {
        p.check_keys.push_back(b.check_keys[c]);
        p.expect.push_back(b.expect[c]);
        part.check_of.push_back(c);
        p.payload_bytes += b.check_keys[c].size() + b.expect[c].size();
      }
      out.checks.push_back(it->second);
    }
    out.keys = static_cast<std::uint32_t>(keys.size());
    out.credit = g.credit;
    out.reap = reap;
    for (std::size_t i : keys) {
      p.keys.push_back(b.keys[i]);
      p.payload_bytes += b.keys[i].size();
    }
    p.groups.push_back(std::move(out));
    p.orphans = b.orphans;
  }
};

}  // namespace

SlotSplit split_by_slot(const CheckedUnlink& b, bool all_across, const std::vector<std::uint8_t>* failed) {
  PartBuilder across;
  std::map<std::uint16_t, PartBuilder> atomic;
  std::vector<std::vector<std::uint32_t>> split_live;
  std::size_t k = 0;
  for (const auto& g : b.groups) {
    std::vector<std::size_t> idx(g.keys);
    for (std::size_t j = 0; j < g.keys; ++j) idx[j] = k + j;
    k += g.keys;
    bool dead = false;  // a check already failed: the group is kept
    if (failed)
      for (std::uint32_t c : g.checks) dead = dead || (*failed)[c];
    // Home: the slot of the group's byte checks (its owners' liveness records as read),
    // else of its first key. A check outside home — byte checks in two slots (a
    // heartbeat and an activity record of plain ids), or an absence check of another id
    // the key's name could mean — cannot be in home's atomic step: the whole group is
    // re-read, unlinked and re-read (a change in that window is counted, never hidden).
    int home = -1;
    for (std::uint32_t c : g.checks)
      if (!b.expect[c].empty()) {
        home = key_slot(b.check_keys[c]);
        break;
      }
    if (home < 0 && !idx.empty()) home = key_slot(b.keys[idx.front()]);
    bool outside = false;
    for (std::uint32_t c : g.checks) outside = outside || key_slot(b.check_keys[c]) != home;
    if (all_across) {
      if (!failed) across.add(b, g, idx, g.reap);
      continue;
    }
    if (outside) {
      // The group's own liveness records (keys it checks the bytes of) never go in the
      // cross-slot UNLINK: each goes in its own slot's atomic step, against its bytes.
      std::vector<std::size_t> rest;
      std::map<std::uint16_t, std::vector<std::size_t>> live;
      std::vector<std::uint32_t> live_checks;
      for (std::size_t i : idx) {
        std::uint32_t own = UINT32_MAX;
        for (std::uint32_t c : g.checks)
          if (!b.expect[c].empty() && b.check_keys[c] == b.keys[i]) own = c;
        if (own == UINT32_MAX) {
          rest.push_back(i);
          continue;
        }
        live[key_slot(b.keys[i])].push_back(i);
        live_checks.push_back(own);
      }
      if (!failed) {
        across.add(b, g, rest, false);
        if (!live.empty()) split_live.push_back(std::move(live_checks));
      }
      if (dead) continue;
      for (const auto& [slot, keys] : live) {
        CheckedUnlink::Group there = g;
        there.checks.clear();
        for (std::uint32_t c : g.checks)
          if (key_slot(b.check_keys[c]) == slot) there.checks.push_back(c);
        atomic[slot].add(b, there, keys, g.reap);
      }
      continue;
    }
    if (g.checks.empty()) {  // nothing to check: each slot's keys are one step of their own
      if (dead) continue;
      std::map<std::uint16_t, std::vector<std::size_t>> by;
      for (std::size_t i : idx) by[key_slot(b.keys[i])].push_back(i);
      for (const auto& [slot, keys] : by) atomic[slot].add(b, g, keys, g.reap);
      continue;
    }
    // Every check is in home: keys elsewhere are re-read first (before the heartbeat's
    // own step), keys in home go atomically with the checks.
    std::vector<std::size_t> here, there;
    for (std::size_t i : idx) (key_slot(b.keys[i]) == home ? here : there).push_back(i);
    if (!failed && !there.empty()) across.add(b, g, there, false);
    if (!here.empty() && !dead) atomic[static_cast<std::uint16_t>(home)].add(b, g, here, g.reap);
  }
  SlotSplit out;
  out.across = std::move(across.part);
  out.split_liveness = std::move(split_live);
  for (auto& [slot, builder] : atomic) {
    builder.part.slot = slot;
    out.atomic.push_back(std::move(builder.part));
  }
  return out;
}

ClusterDeleteStep::ClusterDeleteStep(std::shared_ptr<ClusterClient> client, bool dry_run,
                                     std::function<void()> inside_window)
    : client_(std::move(client)), dry_run_(dry_run), inside_window_(std::move(inside_window)) {}

asio::awaitable<Result<void>> ClusterDeleteStep::choose(Recheck want, std::vector<std::string>& notes) {
  if (want == Recheck::reread)
    co_return Error(Errc::invalid_argument,
                    "a non-atomic re-read cannot be asked for: it is only the last resort when "
                    "the server refuses scripts");
  if (want == Recheck::transaction)
    co_return Error(Errc::invalid_argument,
                    "--recheck transaction does not work on a cluster (WATCH reaches one slot "
                    "only); use the default (script)");
  std::string refused;
  for (auto& r :
       co_await client_->for_each_master(resp::Command("SCRIPT").arg("LOAD").arg(kCheckedUnlinkScript))) {
    if (!r) {
      refused = r.error().message();
      break;
    }
    sha_ = std::string(r->str());
  }
  if (refused.empty())
    for (auto& r : co_await client_->for_each_master(resp::Command("EVALSHA").arg(sha_).arg(0).arg(0).arg(0)))
      if (!r) {
        refused = r.error().message();
        break;
      }
  if (refused.empty()) {
    method_ = Recheck::script;
    co_return Result<void>{};
  }
  if (want == Recheck::script)
    co_return Error(Errc::no_permission, "--recheck script: a master refused scripts (" + refused + ")");
  method_ = Recheck::reread;
  notes.push_back(
      "WARNING: deletes are NOT atomic: a master refused scripts (" + refused +
      "); heartbeats are re-read right before each UNLINK, and a coordinator that renews in between can "
      "lose keys. Allow EVALSHA for the cleanup's user");
  co_return Result<void>{};
}

std::string ClusterDeleteStep::nonatomic_summary() const {
  if (across_batches_ == 0) return "";
  const std::string window =
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(max_window_).count() / 1000.0)
          .substr(0, 6);
  std::string s;
  if (method_ == Recheck::reread) {
    s = "WARNING: " + std::to_string(across_keys_) +
        " keys, heartbeats included, were deleted right after their heartbeats were re-read, not atomically "
        "(a master "
        "refused scripts; longest window " +
        window + " ms)";
  } else {
    s = std::to_string(across_keys_) +
        " keys lived in another slot than their coordinator's liveness records (heartbeat, activity), or "
        "belonged to a "
        "coordinator whose liveness records sit in two slots, or could also belong to another id whose "
        "heartbeat lives "
        "in another slot: each was deleted right after those records were re-read and found unchanged, not "
        "in one "
        "atomic step, and the records were read again after it (longest window " +
        window + " ms); " + std::to_string(atomic_keys_) +
        " keys went atomically with their checks. Give a coordinator's keys its id as a "
        "hash tag (blocking:heartbeat:{id}, coordinator:activity:{id}, blocking:ack:{id}:...), and no key a "
        "name "
        "another id could own, to make every delete atomic";
  }
  if (renewed_in_window_ > 0)
    s = "WARNING: " + std::to_string(renewed_in_window_) +
        " heartbeats were renewed (or, of another id a key's name could mean, appeared) inside that window: "
        "keys of "
        "theirs may be lost. " +
        s;
  return s;
}

void ClusterDeleteStep::report(CleanupReport& r) const {
  r.keys_deleted_across_slots = across_keys_;
  r.renewed_in_delete_window = renewed_in_window_;
  if (method_ == Recheck::script && across_batches_ > 0) r.recheck = "atomic-per-slot, reread-across-slots";
}

// Reads every check of b (GET for a byte check, EXISTS for an absence check) on its own
// master and compares: ok[i] when check i holds; (*gone)[i] when its heartbeat is gone.
asio::awaitable<Result<std::vector<std::uint8_t>>> ClusterDeleteStep::read_checks(
    const CheckedUnlink& b, std::vector<std::uint8_t>* gone) {
  std::vector<std::uint8_t> ok(b.check_keys.size(), 1);
  if (gone) gone->assign(b.check_keys.size(), 0);
  if (b.check_keys.empty()) co_return ok;
  std::vector<resp::Command> cmds;
  cmds.reserve(b.check_keys.size());
  for (std::size_t i = 0; i < b.check_keys.size(); ++i)
    cmds.push_back(resp::Command(b.expect[i].empty() ? "EXISTS" : "GET").arg(b.check_keys[i]));
  auto r = co_await client_->pipeline(std::move(cmds), true);
  if (!r) co_return r.error();
  for (std::size_t i = 0; i < b.check_keys.size(); ++i) {
    const resp::Reply& v = (*r)[i];
    const ServerCode code =
        v.is_error() ? net::error_from_reply(v.root(), "").server_code() : ServerCode::none;
    if (code == ServerCode::cluster_down) {  // a slot no master serves: cannot confirm, keep
      ok[i] = 0;
      continue;
    }
    if (b.expect[i].empty()) {
      if (v.is_error()) co_return net::error_from_reply(v.root(), "re-reading heartbeats");
      ok[i] = v.integer() == 0;
    } else if (v.is_error()) {
      if (code != ServerCode::wrong_type) co_return net::error_from_reply(v.root(), "re-reading heartbeats");
      ok[i] = 0;  // no longer a string: changed
    } else {
      ok[i] = !v.is_null() && sha1_hex(v.str()) == b.expect[i];
      if (v.is_null() && gone) (*gone)[i] = 1;
    }
  }
  co_return ok;
}

asio::awaitable<Result<void>> ClusterDeleteStep::run_across(const SlotSplit::Part& part, UnlinkOutcome& out) {
  const CheckedUnlink& b = part.batch;
  std::vector<std::uint8_t> gone;
  auto ok = co_await read_checks(b, &gone);
  if (!ok) co_return ok.error();
  const auto read_at = Clock::now();
  for (std::uint32_t i = 0; i < b.check_keys.size(); ++i) {
    if ((*ok)[i]) continue;
    out.failed.push_back(part.check_of[i]);
    if (gone[i]) out.gone.push_back(part.check_of[i]);
  }
  const auto chosen = passing_keys(b, *ok);
  if (chosen.empty()) co_return Result<void>{};
  std::vector<std::string> keys(chosen.begin(), chosen.end());
  // Never co_await inside ?: (GCC 12 destroys the temporary twice: a refused UNLINK
  // crashed the run with a double free). cmake/check_no_await_in_conditional.cmake checks.
  Result<std::int64_t> n = std::int64_t{0};
  if (!dry_run_) ++across_batches_;  // before the UNLINK: one that fails part-way may have deleted
  if (dry_run_)
    n = co_await client_->exists(std::move(keys));
  else
    n = co_await client_->unlink(std::move(keys));
  if (!n) co_return n.error();
  out.unlinked += static_cast<std::uint64_t>(*n);
  if (dry_run_) co_return Result<void>{};
  across_keys_ += static_cast<std::uint64_t>(*n);
  max_window_ = std::max(max_window_, Clock::now() - read_at);
  // Read again: a heartbeat that changed in the window is said loudly (its keys may be lost).
  // A heartbeat now gone is not a renewal (where scripts are refused, the heartbeat
  // itself was in that UNLINK); one with other bytes is, and so is another possible
  // owner's heartbeat that appeared.
  std::vector<std::uint8_t> gone_after;
  auto after = co_await read_checks(b, &gone_after);
  if (!after)  // the deletes stand, unverified: the run stops and says so
    co_return Error(
        after.error().code(),
        "re-reading the liveness records after deleting " + std::to_string(*n) +
            " keys across slots (a renewal in that window cannot be ruled out): " + after.error().message());
  for (std::uint32_t i = 0; i < b.check_keys.size(); ++i)
    if ((*ok)[i] && !(*after)[i] && !gone_after[i]) {
      ++renewed_in_window_;
      out.failed.push_back(part.check_of[i]);
      out.window.push_back(part.check_of[i]);
    }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> ClusterDeleteStep::run_atomic(const std::vector<SlotSplit::Part>& parts,
                                                            UnlinkOutcome& out) {
  std::vector<resp::Command> cmds;
  std::vector<std::vector<std::uint32_t>> orders;
  std::vector<std::size_t> which;
  for (std::size_t j = 0; j < parts.size(); ++j) {
    if (parts[j].batch.keys.empty()) continue;
    ScriptCall call = checked_unlink_call(parts[j].batch, sha_);
    cmds.push_back(std::move(call.command));
    orders.push_back(std::move(call.order));
    which.push_back(j);
  }
  if (cmds.empty()) co_return Result<void>{};
  auto r = co_await client_->pipeline(std::move(cmds), false);  // never resent: an UNLINK may have run
  if (!r) co_return r.error();
  for (std::size_t j = 0; j < which.size(); ++j) {
    const SlotSplit::Part& part = parts[which[j]];
    resp::Reply reply = std::move((*r)[j]);
    if (reply.is_error()) {
      const Error e = net::error_from_reply(reply.root(), "the delete script");
      if (e.code() != Errc::no_script) co_return e;
      // A master without the script (a promoted replica, a flushed cache): send it whole.
      auto again =
          co_await client_->command(checked_unlink_call(part.batch, kCheckedUnlinkScript, false).command);
      if (!again) co_return again.error();
      reply = std::move(*again);
    }
    auto o = checked_unlink_outcome(reply, orders[j]);
    if (!o) co_return o.error();
    out.unlinked += o->unlinked;
    if (!dry_run_) atomic_keys_ += o->unlinked;
    for (std::uint32_t f : o->failed) out.failed.push_back(part.check_of[f]);
    for (std::uint32_t g : o->gone) out.gone.push_back(part.check_of[g]);
  }
  co_return Result<void>{};
}

asio::awaitable<Result<UnlinkOutcome>> ClusterDeleteStep::run(const CheckedUnlink& batch) {
  const bool all_across = dry_run_ || method_ == Recheck::reread;
  const SlotSplit first = split_by_slot(batch, all_across);
  UnlinkOutcome out;
  Result<void> done;
  if (!first.across.batch.check_keys.empty() || !first.across.batch.keys.empty())
    done = co_await run_across(first.across, out);
  if (done && inside_window_) std::exchange(inside_window_, nullptr)();
  if (done) {
    // The atomic steps, without the groups whose checks already failed above.
    std::vector<std::uint8_t> failed(batch.check_keys.size(), 0);
    for (std::uint32_t f : out.failed) failed[f] = 1;
    done = co_await run_atomic(split_by_slot(batch, all_across, &failed).atomic, out);
  }
  if (!done) co_return done.error();
  // A group's liveness records deleted each in its own slot: one deleted while another
  // was renewed is a loss in the window, counted.
  if (!first.split_liveness.empty()) {
    std::vector<std::uint8_t> failed(batch.check_keys.size(), 0);
    for (std::uint32_t f : out.failed) failed[f] = 1;
    for (const auto& checks : first.split_liveness) {
      bool held = false, broke = false;
      for (std::uint32_t c : checks) (failed[c] ? broke : held) = true;
      if (held && broke) ++renewed_in_window_;
    }
  }
  auto unique = [](std::vector<std::uint32_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  unique(out.failed);
  unique(out.gone);
  unique(out.window);
  co_return out;
}

}  // namespace swarmkeeper::coord
