// SPDX-License-Identifier: Apache-2.0
// cleanup_scan.cpp — the cleanup's scan (see cleanup_engine.hpp): SCAN pages, each
// attributed while the next is asked for; on a cluster every master at once, then the
// slots that moved (or were moving) during the scan read again on every master.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "coord/cleanup_engine.hpp"

namespace swarmkeeper::coord {

resp::Command Engine::scan_command(const std::string& cursor) const {
  resp::Command c("SCAN");
  c.arg(cursor).arg("COUNT").arg(opts_.scan_count);
  const std::string prefix = opts_.schema.common_prefix();
  if (!prefix.empty()) c.arg("MATCH").arg(glob_escape(prefix) + "*");
  return c;
}

// The next SCAN page, asked for while the current one is attributed.
asio::awaitable<void> Engine::prefetch(std::shared_ptr<net::Connection> conn, resp::Command scan,
                                       ScanPage* out) {
  out->reply = co_await conn->exec(scan);
  out->ready = true;
  out->done.cancel();
}

// One page of keys, wherever it came from: the plan classifies it, its heartbeat reads
// go out, and whatever batches it filled are sent.
asio::awaitable<void> Engine::feed_page(std::span<const std::string_view> keys) {
  const std::uint64_t page = next_page_++;
  // A cluster with slots no master serves (CLUSTER DELSLOTS, a failed master without a
  // replica): a node's SCAN still lists its keys there, but nothing can read or delete
  // them. They are left alone and counted; the rest of the cluster is cleaned.
  std::vector<std::string_view> served;
  if (cluster_) {
    served.reserve(keys.size());
    for (std::string_view k : keys) {
      if (cluster_->slots().node_for(key_slot(k)) != nullptr)
        served.push_back(k);
      else
        ++unserved_keys_;
    }
    keys = served;
  }
  auto reads = plan_.on_page(page, keys);
  co_await slots_.acquire();
  asio::co_spawn(io_, read_page(page, std::move(reads)), asio::detached);
  co_await send_ready();
  if (plan_.orphan_backlog() >= opts_.batch_keys && !failed_)
    co_await orphan_chunk();  // memory stays bounded
}

asio::awaitable<void> Engine::scan_node(ScanNode& node) {
  // Page N+1 is asked for before page N is attributed: the server scans while the
  // client works. A page's reply is owned (one buffer) and the plan reads it in place.
  auto current = std::make_unique<ScanPage>(io_.get_executor());
  current->reply = co_await node.conn->exec(scan_command("0"));
  const std::string during = nodes_.size() > 1 ? "scanning keys on " + node.name : "scanning keys";
  for (;;) {
    Result<resp::Reply>& r = current->reply;
    if (!r) {
      fail(r.error(), during);
      break;
    }
    if (r->size() != 2 || !(*r)[1].is_aggregate()) {
      fail(Error(Errc::unexpected_reply, "SCAN returned " + resp::to_string(r->root()).substr(0, 80)),
           during);
      break;
    }
    const std::string cursor((*r)[0].str());
    const bool more = cursor != "0" && !stopping() && !failed_;
    auto next = std::make_unique<ScanPage>(io_.get_executor());
    if (more) asio::co_spawn(io_, prefetch(node.conn, scan_command(cursor), next.get()), asio::detached);
    std::vector<std::string_view> keys;
    keys.reserve((*r)[1].size());
    for (resp::ReplyRef key : (*r)[1]) keys.push_back(key.str());
    co_await feed_page(keys);
    co_await pace_and_report("scan");
    if (more)
      while (!next->ready) {  // the prefetch holds a pointer to *next: wait for it on every path
        next->done.expires_at(asio::steady_timer::time_point::max());
        co_await next->done.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    if (stopping() && cursor != "0") {
      fail(stop_reason() + " during the scan; the next run finishes the job");
      break;
    }
    if (!more || failed_) break;
    current = std::move(next);
  }
}

// The slots a master is migrating or importing, from its own line of CLUSTER NODES
// ("[slot->-id]", "[slot-<-id]").
asio::awaitable<std::set<std::uint16_t>> Engine::migrating_slots(ScanNode& node) {
  std::set<std::uint16_t> out;
  auto r = co_await node.conn->exec(resp::Command("CLUSTER").arg("NODES"));
  if (!r) co_return out;
  std::string_view text = r->str();
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.find("myself") == std::string_view::npos) continue;
    for (std::size_t at = line.find('['); at != std::string_view::npos; at = line.find('[', at + 1)) {
      unsigned slot = 0;
      std::size_t i = at + 1;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9')
        slot = slot * 10 + static_cast<unsigned>(line[i++] - '0');
      if (i > at + 1 && slot < kClusterSlots) out.insert(static_cast<std::uint16_t>(slot));
    }
  }
  co_return out;
}

// A cluster, after every master was scanned: a slot that changed master since the scan
// began, or was being migrated at its start or end, may hold keys that moved past a
// cursor. Each such slot is read again on every master (CLUSTER GETKEYSINSLOT, bounded),
// so a key present for the whole run is found wherever it went. Keys seen twice are
// fine: the plan reads a heartbeat once, and a second UNLINK of a key counts nothing.
asio::awaitable<void> Engine::rescan_moved() {
  constexpr std::int64_t kMaxKeysPerSlot = 100000;
  if (auto ok = co_await cluster_->refresh(); !ok) {
    rep().notes.push_back(
        "the slot map could not be read again after the scan (" + ok.error().message() +
        "): slots that moved during the run were not scanned again; the next run covers them");
    co_return;
  }
  std::set<std::uint16_t> moved;
  for (auto& n : nodes_) {
    moved.insert(n.migrating.begin(), n.migrating.end());
    auto now = co_await migrating_slots(n);
    moved.insert(now.begin(), now.end());
  }
  for (std::uint16_t s = 0; s < kClusterSlots; ++s) {
    const ClusterNode* now = cluster_->slots().node_for(s);
    const ClusterNode* then = map_at_start_.node_for(s);
    const bool same = now && then ? now->host == then->host && now->port == then->port : now == then;
    if (!same) moved.insert(s);
  }
  if (moved.empty()) co_return;
  rep().slots_rescanned = moved.size();
  const std::string prefix = opts_.schema.common_prefix();
  std::vector<std::uint16_t> slots(moved.begin(), moved.end());
  for (auto& node : nodes_) {
    for (std::size_t from = 0; from < slots.size() && !failed_; from += 256) {
      const std::size_t to = std::min(slots.size(), from + 256);
      resp::Pipeline count;
      for (std::size_t i = from; i < to; ++i) count.add("CLUSTER", "COUNTKEYSINSLOT", slots[i]);
      auto counts = co_await node.conn->exec(count);
      if (!counts) {
        fail(counts.error(), "scanning moved slots again on " + node.name);
        co_return;
      }
      for (std::size_t i = from; i < to && !failed_; ++i) {
        const std::int64_t n = (*counts)[i - from].is_error() ? 0 : (*counts)[i - from].integer();
        if (n <= 0) continue;
        if (n > kMaxKeysPerSlot)
          rep().notes.push_back("slot " + std::to_string(slots[i]) + " moved during the run and holds " +
                                std::to_string(n) + " keys on " + node.name + ": only the first " +
                                std::to_string(kMaxKeysPerSlot) +
                                " were scanned again; the next run covers the rest");
        auto keys = co_await node.conn->exec(
            resp::Command("CLUSTER").arg("GETKEYSINSLOT").arg(slots[i]).arg(std::min(n, kMaxKeysPerSlot)));
        if (!keys) {
          fail(keys.error(), "scanning moved slots again on " + node.name);
          co_return;
        }
        std::vector<std::string_view> page;
        for (resp::ReplyRef k : *keys)
          if (k.str().starts_with(prefix)) page.push_back(k.str());
        for (std::size_t at = 0; at < page.size(); at += opts_.scan_count)
          co_await feed_page(std::span(page).subspan(at, std::min(opts_.scan_count, page.size() - at)));
        co_await pace_and_report("scan");
      }
    }
  }
}

asio::awaitable<void> Engine::scan() {
  if (!cluster_) {
    co_await scan_node(nodes_.front());
  } else {
    map_at_start_ = cluster_->slots();
    for (auto& n : nodes_) n.migrating = co_await migrating_slots(n);
    // Every master at once; the plan and the batches are shared (one thread).
    std::size_t running = nodes_.size();
    asio::steady_timer all_done(io_.get_executor(), asio::steady_timer::time_point::max());
    for (auto& n : nodes_)
      asio::co_spawn(
          io_,
          [this, &n, &running, &all_done]() -> asio::awaitable<void> {
            co_await scan_node(n);
            if (--running == 0) all_done.cancel();
          },
          asio::detached);
    while (running > 0) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!failed_ && !stopping()) co_await rescan_moved();
  }
  co_await slots_.drain();
  plan_.end_scan();
  co_await stage("delete");
}

}  // namespace swarmkeeper::coord
