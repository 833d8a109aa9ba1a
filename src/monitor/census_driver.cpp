// SPDX-License-Identifier: Apache-2.0
// census_driver.cpp — the census driver: SCAN slices on each master in turn, paced to the CPU
// budget, heartbeats read from their owner, queues sized at the end (the census job).
#include "monitor/monitor_impl.hpp"

namespace swarmkeeper::monitor {

// Server CPU (user + sys) of the node the census is on; nullopt if it does not answer.
std::optional<double> Monitor::Impl::server_cpu() {
  auto r = redis->at(census_nodes[census_node], resp::Command("INFO").arg("cpu"));
  if (!r) return std::nullopt;
  return coord::info_cpu_seconds(r->str());
}

// The pass cannot go on (its node is gone): say so, and start again next time.
void Monitor::Impl::census_failed(const std::string& why) {
  store("census", {}, census_started, why);
  tally.reset();
  redis->refresh();
}

// One slice of the census: SCAN pages until the slice's time is up or the pass ends,
// pausing to keep Redis CPU within the budget.
void Monitor::Impl::census_slice(std::stop_token st) {
  const auto slice_end =
      Clock::now() + std::max<std::chrono::milliseconds>(opts.refresh / 2, std::chrono::milliseconds(200));
  if (!tally) {
    const auto every = opts.census_interval.count() > 0 ? opts.census_interval : opts.refresh;
    if (census_started != Clock::time_point{} && Clock::now() - census_started < every) return;
    tally = std::make_unique<CensusTally>(opts.schema, opts.stale_threshold_ms, opts.queue_patterns);
    census_cursor.assign(1, '0');  // (not = "0": GCC 12 warns falsely of an overlapping copy here)
    census_node = 0;
    census_nodes = redis->masters();  // the pass walks these, even if a failover changes them meanwhile
    census_started = Clock::now();
    census_cpu_used = 0;
  }
  coord::Pacer pacer(opts.census_budget_percent);
  const SyncRouter::Master& node = census_nodes[census_node];
  const std::string& node_name = node.name;
  const auto cpu0 = server_cpu();
  if (!cpu0)
    return census_failed((node_name.empty() ? std::string("Redis") : node_name) + " does not answer");
  const double slice_cpu0 = *cpu0;
  const auto slice_t0 = Clock::now();
  // The server's clock, once per slice: heartbeats are judged at server time.
  std::int64_t server_ms0 = wall_ms();
  if (auto time = redis->at(node, resp::Command("TIME")); time)
    if (const auto ms = resp::time_ms(time->root())) server_ms0 = *ms;
  int pages = 0;
  while (!st.stop_requested() && Clock::now() < slice_end) {
    auto page = redis->scan(node, census_cursor, 1000);
    if (!page) return census_failed(page.error().message());
    census_cursor = std::move(page->first);
    std::vector<std::future<Result<resp::Reply>>> reads;  // pipelined: all in flight at once
    std::vector<std::string> read_keys;
    for (auto& k : page->second) {
      if (tally->on_key(k)) {  // (read from its owner: it may have moved with its slot since the scan)
        reads.push_back(redis->command_async(resp::Command("GETRANGE").arg(k).arg(0).arg(16383)));
        read_keys.push_back(std::move(k));
      }
    }
    const std::int64_t now_ms = server_ms0 + static_cast<std::int64_t>(seconds_since(slice_t0) * 1000);
    for (std::size_t ri = 0; ri < reads.size(); ++ri) {
      auto v = reads[ri].get();
      if (v && v->root().is_string()) {
        const std::string value(v->str());  // "" (empty, or deleted since the scan) is unreadable: invalid
        tally->on_liveness(read_keys[ri], &value, now_ms);
      } else if (!v && v.error().code() != Errc::connection_lost && v.error().code() != Errc::timeout &&
                 v.error().code() != Errc::cancelled && !v.error().redirect()) {
        // (a redirect: the key moved with its slot since the scan; not this node's to judge)
        const std::string unreadable;  // not a string (WRONGTYPE): invalid, like the cleanup
        tally->on_liveness(read_keys[ri], &unreadable, now_ms);
      }
    }
    if (census_cursor == "0") {
      census_cpu_used += std::max(0.0, server_cpu().value_or(slice_cpu0) - slice_cpu0);
      if (census_node + 1 < census_nodes.size()) {  // the next master's keys, in the next slice
        ++census_node;
        return;
      }
      finish_census();
      return;
    }
    if (++pages % 16 == 0 && pacer.enabled()) {  // measure, then pause as the budget says
      const double busy_ms = (server_cpu().value_or(slice_cpu0) - slice_cpu0) * 1000;
      auto pause = pacer.pause(busy_ms, seconds_since(slice_t0) * 1000);
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
  }
  census_cpu_used += std::max(0.0, server_cpu().value_or(slice_cpu0) - slice_cpu0);
}

void Monitor::Impl::finish_census() {
  tally->finish();
  CensusResult& r = tally->result();
  // Size the queue keys: TYPE, then the matching length command.
  const auto q0 = Clock::now();
  for (std::size_t qi = 0; qi < tally->queue_keys().size(); ++qi) {
    const std::string& key = tally->queue_keys()[qi];
    auto type = redis->command(resp::Command("TYPE").arg(key));
    if (!type) continue;
    const std::string t(type->str());
    const char* cmd = t == "list"     ? "LLEN"
                      : t == "zset"   ? "ZCARD"
                      : t == "stream" ? "XLEN"
                      : t == "set"    ? "SCARD"
                                      : nullptr;
    double size = 0;
    if (cmd) {
      auto n = redis->command(resp::Command(cmd).arg(key));
      if (n) size = static_cast<double>(n->integer());
    } else if (t == "string") {
      auto v = redis->command(resp::Command("GETRANGE").arg(key).arg(0).arg(31));  // a counter: bounded read
      if (!v || !v->root().is_string()) continue;
      const std::string text(v->str());
      if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
        continue;
      size = std::strtod(text.c_str(), nullptr);
    } else {
      continue;
    }
    std::string label = bounded_label(key);
    if (key.size() > kMaxLabelBytes) ++r.labels_truncated;
    r.queues.push_back({std::move(label), t, size});
  }
  const double queue_s = seconds_since(q0);
  r.duration_s = seconds_since(census_started);
  r.redis_cpu_s = census_cpu_used;  // server CPU while the census ran (its slices), queues aside
  r.finished_at_ms = wall_ms();
  r.complete = true;
  std::vector<Sample> s = census_samples(r, queue_s);
  store("census", std::move(s), census_started);
  tally.reset();
}

}  // namespace swarmkeeper::monitor
