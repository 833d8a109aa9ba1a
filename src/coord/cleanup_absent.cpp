// SPDX-License-Identifier: Apache-2.0
// cleanup_absent.cpp — the cleanup's absent-coordinator phase (see cleanup_plan.hpp for
// the rule): after the scan, the values of the keys whose owners have no liveness record
// are read for their timestamps, and the record of when each was first seen absent
// (kAbsentKey, a hash: field id, value "<first seen ms>:<fingerprint>") is read and
// written; after the deletes, records that no longer matter are removed.
//
// The record is bounded by CleanupOptions::max_absent_records (HLEN checked before
// writing): past it, new absent coordinators are not recorded, so their keys without a
// timestamp wait (counted, said in a note) until earlier ones are reaped. A dry run
// reads the records and writes none.
#include "coord/cleanup_engine.hpp"

namespace swarmkeeper::coord {

namespace {
constexpr std::size_t kChunk = 500;  // keys per pipelined read, fields per HMGET / HSET / HDEL
}  // namespace

// GETRANGE key 0 max for each key, as HeartbeatReads that view into *replies.
asio::awaitable<Result<std::vector<HeartbeatRead>>> Engine::read_values(const std::vector<std::string>& keys,
                                                                        std::vector<resp::Reply>& replies,
                                                                        const char* what) {
  std::vector<HeartbeatRead> out(keys.size());
  if (keys.empty()) co_return out;
  std::vector<resp::Command> p;
  p.reserve(keys.size());
  for (const auto& k : keys)  // end inclusive: max + 1 bytes = too big
    p.push_back(resp::Command("GETRANGE").arg(k).arg(0).arg(opts_.max_heartbeat_bytes));
  auto r = co_await router_->pipeline(std::move(p), true);
  if (!r) co_return r.error();
  replies = std::move(*r);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const resp::Reply& v = replies[i];
    if (v.is_error()) {
      Error e = net::error_from_reply(v.root(), std::string(what) + " (GETRANGE)");
      if (e.server_code() == ServerCode::wrong_type) {
        out[i].kind = HeartbeatRead::Kind::wrong_type;
        continue;
      }
      if (e.server_code() == ServerCode::cluster_down) {  // a slot no master serves: unreadable, left alone
        out[i].kind = HeartbeatRead::Kind::unavailable;
        continue;
      }
      co_return e;
    }
    out[i].kind = v.str().empty() ? HeartbeatRead::Kind::empty : HeartbeatRead::Kind::value;
    out[i].bytes = v.str();
  }
  co_return out;
}

asio::awaitable<void> Engine::absent_phase() {
  plan_.find_absent(server_now_ms());
  while (plan_.has_absent_reads() && !failed_) {
    if (stopping()) co_return fail(stop_reason() + " (absent coordinators); the next run finishes the job");
    auto keys = plan_.take_absent_reads(kChunk);
    std::vector<resp::Reply> replies;
    auto reads = co_await read_values(keys, replies, "reading keys of absent coordinators");
    if (!reads) co_return fail(reads.error(), "reading keys of absent coordinators");
    plan_.on_absent_values(*reads);
    co_await pace_and_report("absent");
  }
  const std::vector<std::string> ids = plan_.absent_record_ids();
  if (ids.empty() || failed_) co_return;
  std::uint64_t room = opts_.max_absent_records;
  if (auto n = co_await router_->command(resp::Command("HLEN").arg(kAbsentKey)); n && n->root().as_integer())
    room =
        n->integer() >= static_cast<std::int64_t>(room) ? 0 : room - static_cast<std::uint64_t>(n->integer());
  std::vector<AbsentRecordWrite> writes;
  for (std::size_t at = 0; at < ids.size() && !failed_; at += kChunk) {
    const std::span<const std::string> chunk(ids.data() + at, std::min(kChunk, ids.size() - at));
    resp::Command get("HMGET");
    get.arg(kAbsentKey);
    for (const auto& id : chunk) get.arg(id);
    auto r = co_await router_->command(get);
    if (!r || r->is_error() || r->size() != chunk.size()) {
      co_return fail(r ? net::error_from_reply(r->root(), "HMGET " + std::string(kAbsentKey)) : r.error(),
                     "reading the absent coordinators' records");
    }
    std::vector<std::string> values(chunk.size());
    std::vector<const std::string*> ptrs(chunk.size(), nullptr);
    for (std::size_t i = 0; i < chunk.size(); ++i)
      if (!(*r)[i].is_null()) {
        values[i] = std::string((*r)[i].str());
        ptrs[i] = &values[i];
      }
    auto w = plan_.on_absent_records(chunk, ptrs, room);
    for (const auto& write : w)
      if (!write.replaces && room > 0) --room;  // a new field; a rewrite takes no room
    writes.insert(writes.end(), std::make_move_iterator(w.begin()), std::make_move_iterator(w.end()));
  }
  if (rep().absent_not_recorded > 0)
    rep().notes.push_back(
        std::to_string(rep().absent_not_recorded) + " absent coordinators were not recorded: " +
        std::string(kAbsentKey) + " holds " + std::to_string(opts_.max_absent_records) +
        " (--max-absent-records); their keys without a timestamp wait until earlier ones are reaped");
  if (opts_.dry_run || writes.empty()) co_return;
  for (std::size_t at = 0; at < writes.size() && !failed_; at += kChunk) {
    resp::Command set("HSET");
    set.arg(kAbsentKey);
    for (std::size_t i = at; i < std::min(writes.size(), at + kChunk); ++i)
      set.arg(writes[i].id).arg(writes[i].value);
    auto r = co_await router_->command(set);
    if (!r || r->is_error())
      co_return fail(r ? net::error_from_reply(r->root(), "HSET " + std::string(kAbsentKey)) : r.error(),
                     "recording absent coordinators");
  }
}

// After the deletes: removes the records of coordinators that are alive again, reaped,
// or gone, so the hash holds only those still waiting. HSCAN, bounded pages.
asio::awaitable<void> Engine::forget_absent_records() {
  if (opts_.dry_run || failed_ || !opts_.absent) co_return;
  std::string cursor = "0";
  std::uint64_t removed = 0;
  do {
    auto r = co_await router_->command(
        resp::Command("HSCAN").arg(kAbsentKey).arg(cursor).arg("COUNT").arg(kChunk));
    if (!r || r->is_error() || r->size() != 2) {  // no failure of the run: the records wait for the next one
      rep().notes.push_back(
          std::string("could not tidy ") + kAbsentKey + " (HSCAN: " +
          (r ? std::string(r->is_error() ? r->str() : "unexpected reply") : r.error().message()) +
          "): records of coordinators alive again or reaped stay until a run can");
      co_return;
    }
    cursor = std::string((*r)[0].str());
    resp::Command del("HDEL");
    del.arg(kAbsentKey);
    std::size_t n = 0;
    const auto page = (*r)[1];
    for (std::size_t i = 0; i + 1 < page.size(); i += 2) {
      const std::string_view id = page[i].str();
      if (plan_.keep_absent_record(id)) continue;
      del.arg(id);
      ++n;
    }
    if (n > 0) {
      auto d = co_await router_->command(del);
      if (!d || d->is_error()) {
        rep().notes.push_back(std::string("could not tidy ") + kAbsentKey +
                              " (HDEL: " + (d ? std::string(d->str()) : d.error().message()) + ")");
        co_return;
      }
      removed += n;
    }
  } while (cursor != "0" && !stopping());
  rep().absent_records_removed = removed;
}

}  // namespace swarmkeeper::coord
