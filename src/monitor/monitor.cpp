// SPDX-License-Identifier: Apache-2.0
// monitor.cpp — the Monitor of monitor.hpp: its collectors (jobs on the scheduler),
// the aggregation step (snapshot, history, alerts, events), and the routes the HTTP
// server answers with.
#include "swarmkeeper/monitor/monitor.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>

#include "coord/pacer.hpp"
#include "coord/server_info.hpp"
#include "net/connection.hpp"
#include "net/run_blocking.hpp"
#include "monitor/advice.hpp"
#include "swarmkeeper/monitor/alert_rules.hpp"
#include "monitor/census.hpp"
#include "monitor/history.hpp"
#include "monitor/http_server.hpp"
#include "monitor/web_config.hpp"
#include "client/sync_router.hpp"
#include "monitor/notifier.hpp"
#include "monitor/prom_text.hpp"
#include "monitor/redis_info.hpp"
#include "swarmkeeper/cleanup.hpp"
#include "swarmkeeper/version.hpp"
#include "swarmkeeper/client.hpp"
#include "swarmkeeper/metrics/collector.hpp"
#include "swarmkeeper/metrics/process.hpp"
#include "swarmkeeper/queue/bounded_queue.hpp"
#include "swarmkeeper/sched/scheduler.hpp"

namespace swarmkeeper::monitor {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// JSON text; key names from Redis may be any bytes: invalid UTF-8 becomes U+FFFD.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Sample gauge(std::string name, double v, std::string help, std::vector<std::pair<std::string, std::string>> labels = {}) {
  return Sample{std::move(name), std::move(labels), v, MetricType::gauge, std::move(help), {}};
}
Sample counter(std::string name, double v, std::string help, std::vector<std::pair<std::string, std::string>> labels = {}) {
  return Sample{std::move(name), std::move(labels), v, MetricType::counter, std::move(help), {}};
}

// What one collector last produced, and when.
struct Collected {
  std::vector<Sample> samples;
  Clock::time_point at{};
  Clock::time_point ok_at{};  ///< the last run that succeeded ({}: none yet)
  bool current = false;       ///< samples are the last run's (a success, or a failure's own)
  Clock::time_point failing_since{};  ///< the first failure since the last success ({}: none)
  double duration_s = 0;
  std::string error;  ///< the last failure, empty when the last run succeeded
  std::map<std::string, std::string> facts;  ///< non-numeric findings (maxmemory_policy, ...)
};

}  // namespace

struct Monitor::Impl {
  explicit Impl(MonitorOptions o)
      : opts(std::move(o)),
        alerts(opts.rules.empty() ? default_alert_rules() : opts.rules),
        history(static_cast<std::size_t>(std::max<std::int64_t>(2, opts.history.count() / std::max<std::int64_t>(1, opts.refresh.count())))),
        probe_latency(probe_collector.latency("probe")),
        notifier_state(opts.webhook_resend) {}

  MonitorOptions opts;
  // Redis: one server, or every master of a cluster (name "host:port", labelled
  // node="..." in /metrics), behind one router; commands on a key go to its owner.
  std::unique_ptr<SyncRouter> redis;  // set in start(), before any job
  std::map<std::string, RedisInfo> prev_info;  // redis job only: by node name
  std::unique_ptr<sched::Scheduler> sched;       // collectors
  std::unique_ptr<sched::Scheduler> aggregator;  // snapshots
  std::vector<sched::JobHandle> jobs;
  std::unique_ptr<HttpServer> http;
  std::thread notifier;

  mutable std::mutex mu;
  std::map<std::string, Collected> collected;  // guarded by mu: by collector name
  AlertEngine alerts;                          // guarded by mu
  History history;                             // guarded by mu
  std::string metrics_text;                    // guarded by mu: the last snapshot
  json snapshot = json::object();              // guarded by mu
  json cleanup_runs = json::array();           // guarded by mu: runs made by this monitor
  std::uint64_t version = 0;                   // guarded by mu: bumps with each snapshot
  double aggregation_s = 0;                    // guarded by mu

  metrics::Collector probe_collector;
  metrics::Latency& probe_latency;
  std::atomic<std::uint64_t> probe_failures{0};
  std::atomic<std::uint64_t> scrapes{0};
  std::atomic<double> last_scrape_s{0};
  // The webhook: what to send when (notifier_state, guarded by notify_mu), sent by the
  // notifier thread; counts by outcome.
  std::mutex notify_mu;
  std::condition_variable notify_cv;
  NotifierState notifier_state;
  WebhookTarget webhook_target;    // constant after start()
  bool webhook_alertmanager = false;
  std::string generator_url;       // the dashboard, for Alertmanager's generatorURL
  std::atomic<std::uint64_t> webhook_sent{0}, webhook_dropped{0};
  static constexpr std::array<const char*, 7> kWebhookFailures = {"dns", "connect", "timeout", "tls", "http_4xx", "http_5xx", "other"};
  std::array<std::atomic<std::uint64_t>, kWebhookFailures.size()> webhook_failures{};
  std::deque<std::pair<Clock::time_point, std::uint64_t>> drops_seen;  // guarded by mu: for the per-minute rate

  // Census state, census job only.
  std::unique_ptr<CensusTally> tally;
  std::string census_cursor = "0";
  std::size_t census_node = 0;                  // which master the cursor walks
  std::vector<SyncRouter::Master> census_nodes;  // the masters of this pass
  Clock::time_point census_started;
  double census_cpu_used = 0;

  // A collector's results. On failure (error set) the previous samples stay (each with
  // the collector's age beside it), unless replace: then `samples` stand instead.
  void store(const std::string& name, std::vector<Sample> samples, Clock::time_point t0, std::string error = {},
             std::map<std::string, std::string> facts = {}, bool replace = false) {
    std::lock_guard lock(mu);
    Collected& c = collected[name];
    if (error.empty() || replace) {
      c.samples = std::move(samples);
      c.facts = std::move(facts);
    }
    c.current = error.empty() || replace;
    c.at = Clock::now();
    if (error.empty()) {
      c.ok_at = c.at;
      c.failing_since = {};
    } else if (c.failing_since == Clock::time_point{}) {
      c.failing_since = c.at;
    }
    c.duration_s = seconds_since(t0);
    c.error = std::move(error);
  }

  // --- collectors (scheduler threads; the SyncRouter is thread-safe) ---

  // One PING per node. A failed one counts as latency too, at least the pool's 1 s wait
  // (a caller of Redis would have waited that long). And the probe corrects for
  // coordinated omission, as HdrHistogram's expected-interval recording does: a PING that
  // took N probe intervals stands for the N PINGs that would have been sent meanwhile,
  // each having waited that much less, so a stall weighs in P95 as callers felt it.
  void probe() {
    for (const auto& n : redis->masters()) {
      const auto t0 = Clock::now();
      probe_started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count();
      auto r = redis->at(n, resp::Command("PING"));
      probe_started_ns = 0;
      const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
      for (auto seen = longest_wait_ns.load(); took > seen && !longest_wait_ns.compare_exchange_weak(seen, took);) {
      }
      if (!r) {
        ++probe_failures;
        probe_latency.record(static_cast<std::uint64_t>(
            std::max<std::int64_t>(took, std::chrono::nanoseconds(kProbeFailureLatency).count())));
      } else {
        probe_latency.record(static_cast<std::uint64_t>(took));
      }
      const std::int64_t interval = std::chrono::nanoseconds(probe_every).count();  // the correction: measured time only
      int extra = 0;
      for (std::int64_t missed = took - interval; missed >= interval && extra < 100000; missed -= interval, ++extra)
        probe_latency.record(static_cast<std::uint64_t>(missed));
    }
  }
  static constexpr std::chrono::milliseconds kProbeFailureLatency{1000};
  std::chrono::milliseconds probe_every{500};   // set in start()
  std::atomic<std::int64_t> probe_started_ns{0};  // the PING waiting now (steady clock), 0: none
  std::atomic<std::int64_t> longest_wait_ns{0};   // the longest PING since the last snapshot

  // INFO of every node. On a cluster every sample carries node="host:port", and the
  // series the dashboard reads also come as cluster totals (no node label).
  void collect_redis() {
    const auto t0 = Clock::now();
    std::vector<Sample> all;
    std::map<std::string, std::string> facts;
    std::string failure;
    std::map<std::string, double> sums;
    double min_up = 1, max_mem_ratio = 0, d_cmds = 0, d_errs = 0;
    const auto set = redis->masters();
    const bool cluster = redis->cluster();
    bool all_answered = true;
    for (const auto& n : set) {
      RedisInfo& prev = prev_info[n.name];
      auto info = redis->at(n, resp::Command("INFO").arg("everything"));
      if (!info) {
        failure = (cluster ? n.name + ": " : std::string()) + info.error().message();
        Sample down = gauge("swarmkeeper_redis_up", 0, "1 when the last INFO succeeded");
        if (cluster) down.labels.emplace_back("node", n.name);
        all.push_back(std::move(down));
        min_up = 0;
        all_answered = false;
        continue;
      }
      auto slowlog = redis->at(n, resp::Command("SLOWLOG").arg("LEN"));
      RedisInfo parsed = net::parse_info(info->str());
      std::vector<Sample> s = redis_samples(parsed, prev);
      if (slowlog) s.push_back(gauge("swarmkeeper_redis_slowlog_length", static_cast<double>(slowlog->integer()), "Entries in SLOWLOG"));
      for (const char* f : {"redis_version", "maxmemory_policy", "role", "redis_mode"})
        if (auto it = parsed.fields.find(f); it != parsed.fields.end()) facts[f] = it->second;
      if (cluster) {
        for (auto& x : s) {
          if (x.labels.empty() || x.labels[0].first != "cmd") sums[x.name] += x.value;  // per-command series: per node only
          if (x.name == "swarmkeeper_redis_memory_used_ratio") max_mem_ratio = std::max(max_mem_ratio, x.value);
          x.labels.insert(x.labels.begin(), {"node", n.name});
        }
        if (!prev.empty()) {
          d_cmds += parsed.number("total_commands_processed") - prev.number("total_commands_processed");
          d_errs += parsed.number("total_error_replies") - prev.number("total_error_replies");
        }
      }
      prev = std::move(parsed);
      all.insert(all.end(), std::make_move_iterator(s.begin()), std::make_move_iterator(s.end()));
    }
    if (cluster && all_answered) {  // sums over some masters would pass for the cluster's
      for (const char* name : {"swarmkeeper_redis_memory_used_bytes", "swarmkeeper_redis_memory_max_bytes",
                               "swarmkeeper_redis_connected_clients", "swarmkeeper_redis_ops_per_second",
                               "swarmkeeper_redis_evicted_keys_total", "swarmkeeper_redis_commands_processed_total",
                               "swarmkeeper_redis_error_replies_total", "swarmkeeper_redis_cpu_seconds_total"}) {
        Sample t = gauge(name, sums[name], "Sum over the cluster's masters");
        if (std::string_view(name).ends_with("_total")) t.type = MetricType::counter;
        all.push_back(std::move(t));
      }
      if (max_mem_ratio > 0) all.push_back(gauge("swarmkeeper_redis_memory_used_ratio", max_mem_ratio, "The fullest master's used_memory / maxmemory"));
      all.push_back(gauge("swarmkeeper_redis_error_ratio", d_cmds > 0 ? std::max(0.0, d_errs) / d_cmds : 0,
                          "Error replies / commands over the last refresh, all masters"));
    }
    if (cluster) {
      all.push_back(gauge("swarmkeeper_redis_up", min_up, "1 when every master answered INFO"));
      cluster_samples(all, set);
      if (!all_answered) redis->refresh();  // a failover may have promoted a replica
    }
    // An outage is logged once as it starts and once as it ends.
    if (!all_answered && redis_down_since_ms == 0) {
      redis_down_since_ms = wall_ms();
      say("error", "Redis unreachable: " + failure + "; serving what is known and retrying", {{"error", failure}});
    } else if (all_answered && redis_down_since_ms != 0) {
      const double down_s = static_cast<double>(wall_ms() - redis_down_since_ms.load()) / 1000;
      redis_down_since_ms = 0;
      say("info", "Redis reachable again after " + prom_number(std::round(down_s * 10) / 10) + " s", {{"downSeconds", down_s}});
    }
    if (!failure.empty() && !cluster) {
      store("redis", std::move(all), t0, failure, {}, /*replace=*/true);
      return;
    }
    store("redis", std::move(all), t0, failure, std::move(facts), /*replace=*/true);
  }
  std::atomic<std::int64_t> redis_down_since_ms{0};  // wall ms; 0 while Redis answers

  // CLUSTER INFO as seen by the first master that answers: state and slot coverage.
  void cluster_samples(std::vector<Sample>& out, const std::vector<SyncRouter::Master>& set) {
    for (const auto& n : set) {
      auto r = redis->at(n, resp::Command("CLUSTER").arg("INFO"));
      if (!r || !r->root().is_string()) continue;
      auto info = net::parse_info(r->str());
      out.push_back(gauge("swarmkeeper_cluster_state_ok", info.fields["cluster_state"] == "ok" ? 1 : 0, "1 when the cluster says cluster_state:ok"));
      for (const char* f : {"cluster_slots_assigned", "cluster_slots_ok", "cluster_slots_pfail", "cluster_slots_fail",
                            "cluster_known_nodes", "cluster_size"})
        out.push_back(gauge(std::string("swarmkeeper_") + f, info.number(f), std::string("CLUSTER INFO ") + f));
      out.push_back(gauge("swarmkeeper_cluster_masters_watched", static_cast<double>(set.size()), "Masters this monitor watches"));
      return;
    }
  }

  // Server CPU (user + sys) of the node the census is on; nullopt if it does not answer.
  std::optional<double> server_cpu() {
    auto r = redis->at(census_nodes[census_node], resp::Command("INFO").arg("cpu"));
    if (!r) return std::nullopt;
    return coord::info_cpu_seconds(r->str());
  }
  // The pass cannot go on (its node is gone): say so, and start again next time.
  void census_failed(const std::string& why) {
    store("census", {}, census_started, why);
    tally.reset();
    redis->refresh();
  }

  // One slice of the census: SCAN pages until the slice's time is up or the pass ends,
  // pausing to keep Redis CPU within the budget.
  void census_slice(std::stop_token st) {
    const auto slice_end = Clock::now() + std::max<std::chrono::milliseconds>(opts.refresh / 2, std::chrono::milliseconds(200));
    if (!tally) {
      const auto every = opts.census_interval.count() > 0 ? opts.census_interval : opts.refresh;
      if (census_started != Clock::time_point{} && Clock::now() - census_started < every) return;
      tally = std::make_unique<CensusTally>(opts.schema, opts.stale_threshold_ms, opts.queue_patterns);
      census_cursor = "0";
      census_node = 0;
      census_nodes = redis->masters();  // the pass walks these, even if a failover changes them meanwhile
      census_started = Clock::now();
      census_cpu_used = 0;
    }
    coord::Pacer pacer(opts.census_budget_percent);
    const SyncRouter::Master& node = census_nodes[census_node];
    const std::string& node_name = node.name;
    const auto cpu0 = server_cpu();
    if (!cpu0) return census_failed((node_name.empty() ? std::string("Redis") : node_name) + " does not answer");
    const double slice_cpu0 = *cpu0;
    const auto slice_t0 = Clock::now();
    // The server's clock, once per slice: heartbeats are judged at server time.
    std::int64_t server_ms0 = wall_ms();
    if (auto time = redis->at(node, resp::Command("TIME")); time)
      if (const auto ms = resp::time_ms(time->root())) server_ms0 = *ms;
    int pages = 0;
    while (!st.stop_requested() && Clock::now() < slice_end) {
      auto page = redis->at(node, resp::Command("SCAN").arg(census_cursor).arg("COUNT").arg(1000));
      if (!page || page->size() != 2) return census_failed(page ? "SCAN returned an unexpected reply" : page.error().message());
      census_cursor = std::string((*page)[0].str());
      std::vector<std::future<Result<resp::Reply>>> reads;  // pipelined: all in flight at once
      std::vector<std::string> read_keys;
      for (auto k : (*page)[1]) {
        if (tally->on_key(k.str())) {  // (read from its owner: it may have moved with its slot since the scan)
          reads.push_back(redis->command_async(resp::Command("GETRANGE").arg(k.str()).arg(0).arg(16383)));
          read_keys.emplace_back(k.str());
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

  void finish_census() {
    tally->finish();
    CensusResult& r = tally->result();
    // Size the queue keys: TYPE, then the matching length command.
    const auto q0 = Clock::now();
    for (std::size_t qi = 0; qi < tally->queue_keys().size(); ++qi) {
      const std::string& key = tally->queue_keys()[qi];
      auto type = redis->command(resp::Command("TYPE").arg(key));
      if (!type) continue;
      const std::string t(type->str());
      const char* cmd = t == "list" ? "LLEN" : t == "zset" ? "ZCARD" : t == "stream" ? "XLEN" : t == "set" ? "SCARD" : nullptr;
      double size = 0;
      if (cmd) {
        auto n = redis->command(resp::Command(cmd).arg(key));
        if (n) size = static_cast<double>(n->integer());
      } else if (t == "string") {
        auto v = redis->command(resp::Command("GETRANGE").arg(key).arg(0).arg(31));  // a counter: bounded read
        if (!v || !v->root().is_string()) continue;
        const std::string text(v->str());
        if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) continue;
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

  void collect_clients() {
    const auto t0 = Clock::now();
    std::vector<Sample> s = client_samples(redis->metrics(), "monitor");
    if (opts.app_client_metrics) {
      try {
        auto app = client_samples(opts.app_client_metrics(), "app");
        s.insert(s.end(), app.begin(), app.end());
      } catch (const std::exception& e) {
        store("clients", {}, t0, std::string("app_client_metrics threw: ") + e.what());
        return;
      }
    }
    store("clients", std::move(s), t0);
  }

  // The cleanup leaves the keyspace as it found it apart from what it deletes, so the
  // signs of a successful run are its audit entries (a run that reaped something) and
  // the runs this monitor made itself. (Each read goes to its key's owner: asking the
  // other masters would cost them MOVED error replies, and the error rate alert.)
  void collect_cleanup() {
    const auto t0 = Clock::now();
    std::vector<Sample> s;
    auto newest = redis->command(resp::Command("XREVRANGE").arg("swarmkeeper:reaped").arg("+").arg("-").arg("COUNT").arg(1));
    if (!newest) {
      store("cleanup", {}, t0, newest.error().message());
      return;
    }
    if (newest->size() > 0 && newest->root()[0].size() > 0) {
      const std::string id((*newest)[0][0].str());  // "<ms>-<seq>"
      const double ms = std::strtod(id.c_str(), nullptr);
      if (ms > 0) {
        s.push_back(gauge("swarmkeeper_cleanup_last_reap_timestamp_seconds", ms / 1000,
                          "When the cleanup last reaped coordinators (its newest audit entry, unix time)"));
        last_success_ms = std::max(last_success_ms.load(), ms);
      }
    }
    auto lock = redis->command(resp::Command("EXISTS").arg("swarmkeeper:cleanup:lock"));
    if (lock) s.push_back(gauge("swarmkeeper_cleanup_lock_held", static_cast<double>(lock->integer()), "1 while a cleanup holds the lock"));
    auto audit = redis->command(resp::Command("XLEN").arg("swarmkeeper:reaped"));
    if (audit) s.push_back(gauge("swarmkeeper_cleanup_audit_entries", static_cast<double>(audit->integer()), "Entries in the audit stream swarmkeeper:reaped"));
    store("cleanup", std::move(s), t0);
  }
  std::atomic<double> last_success_ms{0};  // the newest sign of a successful cleanup (wall ms)
  const std::int64_t started_ms = wall_ms();
  const Clock::time_point started_at = Clock::now();

  void run_cleanup_now(std::stop_token st) {
    CleanupOptions co;
    co.schema = opts.schema;
    co.threshold = std::chrono::milliseconds(opts.stale_threshold_ms);
    co.stop = &stop_flag;
    (void)st;
    auto rep = swarmkeeper::run_cleanup(opts.connection, co);
    json run = {{"startedAt", wall_ms()}};
    if (!rep) {
      run["error"] = rep.error().message();
      say("error", "scheduled cleanup could not run: " + rep.error().message(), {{"error", rep.error().message()}});
    } else {
      if (!rep->errors.empty())
        say("error", "scheduled cleanup ended with " + std::to_string(rep->errors.size()) + " error(s); the first: " +
                         rep->errors.front(),
            {{"errors", rep->errors}, {"keysDeleted", rep->keys_deleted}});
      run["keysDeleted"] = rep->keys_deleted;
      run["staleFound"] = rep->stale_coordinators_found;
      run["coordinators"] = rep->total_coordinators_checked;
      run["ms"] = rep->execution_time_ms;
      run["lockBusy"] = rep->lock_busy;
      run["errors"] = rep->errors;
      if (rep->errors.empty() && !rep->lock_busy) last_success_ms = std::max(last_success_ms.load(), static_cast<double>(wall_ms()));
    }
    std::lock_guard lock(mu);
    cleanup_runs.push_back(std::move(run));
    if (cleanup_runs.size() > 20) cleanup_runs.erase(cleanup_runs.begin());
  }
  std::atomic<bool> stop_flag{false};

  // --- the web config: exposure, and reloading it when its files change ---

  bool loopback_listener = true;                // constant after start()
  std::atomic<bool> insecure_listener{false};   // beyond loopback without TLS, or without users/client certs
  std::mutex web_mu;                            // one reload at a time; guards web_stamps
  std::vector<std::pair<std::string, FileStamp>> web_stamps;  // the files read at the last reload
  std::vector<std::pair<std::string, FileStamp>> web_changing;  // guarded by web_mu: changed, seen once
  std::atomic<bool> web_reload_ok{true};
  std::atomic<double> web_reload_ok_at_s{0};

  // Whether `web` may serve on the listen address (beyond loopback it needs TLS or users,
  // or --insecure-listen); its value: whether it is insecure there, with the warning to
  // log once it is in force ("" if none).
  struct Exposure {
    bool insecure = false;
    std::string warning;
  };
  Result<Exposure> check_exposure(const WebConfig& web) const {
    const bool client_certs = web.tls && web.tls->client_auth == ClientAuth::require_and_verify;
    if (!loopback_listener && !web.tls && web.users.empty() && !opts.insecure_listen)
      return Error(Errc::invalid_argument,
                   "--listen " + opts.listen +
                       " serves beyond loopback without TLS or authentication: anyone who reaches the port reads queue "
                       "names, the Redis version and the alerts. Give --web-config a file with tls_server_config and "
                       "basic_auth_users (docs/monitor.md), listen on 127.0.0.1, or accept the exposure with "
                       "--insecure-listen");
    Exposure e;
    e.insecure = !loopback_listener && (!web.tls || (web.users.empty() && !client_certs));
    if (e.insecure)
      e.warning = std::string("the dashboard listens on ") + opts.listen +
                  (web.tls ? " without authentication (no basic_auth_users)"
                   : web.users.empty() ? " without TLS or authentication (--insecure-listen)"
                                       : " without TLS: passwords cross the network in clear text");
    return e;
  }
  // A change made live may add or change protection, never take it away: a truncated or
  // emptied file must not open the port. Turning TLS, users, client certificates, the
  // SAN check or a header off, or lowering min_version, takes a restart.
  static Result<void> no_weaker(const WebConfig& next, const WebConfig& in_force) {
    auto refuse = [&](const std::string& what) {
      return Error(Errc::invalid_argument, "--web-config " + next.file + ": would " + what +
                                               " while serving; restart serve to do that");
    };
    const auto verifies = [](const WebConfig& w) { return w.tls && w.tls->client_auth == ClientAuth::require_and_verify; };
    if (in_force.tls && !next.tls) return refuse("turn TLS off");
    if (!in_force.users.empty() && next.users.empty()) return refuse("turn authentication (basic_auth_users) off");
    if (verifies(in_force) && !verifies(next)) return refuse("turn client certificate verification off");
    if (in_force.tls && next.tls) {
      if (!in_force.tls->client_allowed_sans.empty() && next.tls->client_allowed_sans.empty())
        return refuse("turn the client_allowed_sans check off");
      if (next.tls->min_version < in_force.tls->min_version)
        return refuse("lower min_version from TLS1" + std::to_string(in_force.tls->min_version % 10) + " to TLS1" +
                      std::to_string(next.tls->min_version % 10));
    }
    for (const auto& [name, value] : in_force.headers)
      if (std::none_of(next.headers.begin(), next.headers.end(), [&](const auto& h) { return h.first == name; }))
        return refuse("drop the " + name + " header");
    return {};
  }
  WebConfig web_in_force;  // guarded by web_mu (set in start(), then by reloads)

  static std::vector<std::pair<std::string, FileStamp>> stamps(const std::vector<std::string>& files) {
    std::vector<std::pair<std::string, FileStamp>> out;
    for (const auto& f : files) out.emplace_back(f, stamp_of(f));
    return out;
  }

  // Reads the web config, each file stamped before it is read (the certificates, key and
  // CA are read after this, when the TLS context is built): a change made while reading
  // is seen at the next look. A file that does not parse leaves the files of the config
  // in force watched.
  Result<WebConfig> read_web_config(std::vector<std::pair<std::string, FileStamp>>& seen) const {
    seen = stamps({opts.web_config_file});
    auto web = load_web_config(opts.web_config_file);
    if (web) {
      const auto files = web->watched_files();
      auto named = stamps(std::vector<std::string>(files.begin() + 1, files.end()));
      seen.insert(seen.end(), named.begin(), named.end());
    } else {
      seen.insert(seen.end(), web_stamps.begin() + (web_stamps.empty() ? 0 : 1), web_stamps.end());
    }
    return web;
  }

  // Reads the web config again and puts it in force; on failure the one in force stays.
  // REQUIRES: web_mu held.
  Result<void> reload_web_locked() {
    std::vector<std::pair<std::string, FileStamp>> seen;
    auto web = read_web_config(seen);
    web_changing.clear();
    Result<void> ok = web ? no_weaker(*web, web_in_force) : Result<void>(web.error());
    Result<Exposure> exposure = Exposure{};
    if (ok) exposure = check_exposure(*web);
    if (!exposure) ok = exposure.error();
    if (ok) ok = http->reconfigure(*web);
    web_stamps = std::move(seen);
    if (ok) {
      insecure_listener = exposure->insecure;
      if (!exposure->warning.empty()) say("warn", exposure->warning, {{"listen", opts.listen}});
      web_in_force = *web;
    }
    web_reload_ok = static_cast<bool>(ok);
    if (!ok) {
      say("error", ok.error().message() + "; keeping the web config in force", {{"file", opts.web_config_file}});
      return ok;
    }
    web_reload_ok_at_s = static_cast<double>(wall_ms()) / 1000;
    say_unused_headers(*web);
    say("info", "web config " + opts.web_config_file + " in force: " + (web->tls ? "TLS" : "plain HTTP") + ", " +
                    std::to_string(web->users.size()) + " user(s)",
        {{"file", opts.web_config_file}, {"tls", web->tls.has_value()}, {"users", web->users.size()}});
    return ok;
  }

  // Headers the file sets that serve sends itself, strictly: said, not used.
  void say_unused_headers(const WebConfig& web) const {
    for (const auto& [name, value] : web.headers)
      if (serve_sets_header(name))
        say("warn", "--web-config " + web.file + ": http_server_config.headers." + name +
                        ": serve sends its own, stricter value; this one is not used",
            {{"header", name}});
  }

  // Every second: reload when the file or a certificate, key or CA it names changed and
  // has stayed as it is for one look (a file being written is not read half-way).
  void watch_web_config() {
    std::lock_guard lock(web_mu);
    std::vector<std::string> files;
    for (const auto& [f, st] : web_stamps) files.push_back(f);
    auto now = stamps(files);
    if (now == web_stamps) {
      web_changing.clear();
    } else if (now != web_changing) {
      web_changing = std::move(now);
    } else {
      (void)reload_web_locked();
    }
  }

  // --- aggregation ---

  void aggregate() {
    const auto t0 = Clock::now();
    probe_collector.advance(t0);
    std::vector<Sample> all;
    const auto ps = probe_collector.snapshot();
    for (const auto& series : ps.series) {
      const auto& w = series.windows[static_cast<int>(metrics::Window::m1)];
      const std::string help = "Monitor PING round trip over the last minute";
      for (auto [q, v] : {std::pair{"0.5", w.p50}, {"0.95", w.p95}, {"0.99", w.p99}})
        all.push_back(Sample{"swarmkeeper_probe_latency_seconds", {{"quantile", q}}, v / 1e9, MetricType::summary, help, {}});
      all.push_back(Sample{"swarmkeeper_probe_latency_seconds_sum", {}, w.mean * static_cast<double>(w.count) / 1e9,
                           MetricType::summary, help, "swarmkeeper_probe_latency_seconds"});
      all.push_back(Sample{"swarmkeeper_probe_latency_seconds_count", {}, static_cast<double>(w.count), MetricType::summary,
                           help, "swarmkeeper_probe_latency_seconds"});
    }
    all.push_back(counter("swarmkeeper_probe_failures_total", static_cast<double>(probe_failures.load()), "PINGs that failed"));
    // The longest wait since the last snapshot: the PING in flight, or one that came back
    // meanwhile (a stall shorter than a refresh shows too).
    const std::int64_t waiting_since = probe_started_ns.load();
    const std::int64_t waiting =
        waiting_since == 0 ? 0 : std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count() - waiting_since;
    all.push_back(gauge("swarmkeeper_redis_probe_outstanding_seconds",
                        static_cast<double>(std::max(waiting, longest_wait_ns.exchange(0))) / 1e9,
                        "The longest a PING waited since the last snapshot, the one in flight included: a stall shows while it "
                        "lasts (about 1 s while Redis refuses connections: each failed attempt counts as 1 s)"));
    const std::uint64_t dropped = webhook_dropped.load();
    if (opts.webhook) {
      all.push_back(counter("swarmkeeper_webhook_sent_total", static_cast<double>(webhook_sent.load()),
                            "Alert notifications the webhook accepted (2xx); re-sends of firing alerts included"));
      for (std::size_t i = 0; i < kWebhookFailures.size(); ++i)
        all.push_back(counter("swarmkeeper_webhook_failures_total", static_cast<double>(webhook_failures[i].load()),
                              "Webhook deliveries that failed, by reason (each is retried)", {{"reason", kWebhookFailures[i]}}));
      all.push_back(counter("swarmkeeper_webhook_dropped_total", static_cast<double>(dropped),
                            "Alert notifications given up after every retry failed"));
      std::lock_guard lock(notify_mu);
      all.push_back(gauge("swarmkeeper_webhook_firing_alerts", static_cast<double>(notifier_state.firing()),
                          "Firing alerts re-sent to the webhook every resend interval"));
    }
    std::lock_guard lock(mu);
    drops_seen.emplace_back(t0, dropped);
    while (drops_seen.size() > 1 && t0 - drops_seen.front().first > std::chrono::minutes(1)) drops_seen.pop_front();
    for (const auto& [name, c] : collected) {
      // A collector that keeps failing: its figures are withdrawn once it has failed for
      // three of its periods (no alert fires or stays pending on them; the page says
      // why). One failed pass of a slow census does not withdraw them.
      const auto ok_at = c.ok_at == Clock::time_point{} ? started_at : c.ok_at;
      const auto period = std::max(opts.refresh, name == "census" ? opts.census_interval : opts.refresh);
      const bool stale = !c.current && c.failing_since != Clock::time_point{} && t0 - c.failing_since > 3 * period;
      if (!stale) all.insert(all.end(), c.samples.begin(), c.samples.end());
      all.push_back(gauge("swarmkeeper_monitor_collector_age_seconds", seconds_since(ok_at),
                          "Seconds since the collector last succeeded (or since the monitor started)", {{"collector", name}}));
      all.push_back(gauge("swarmkeeper_monitor_collector_stale", stale ? 1 : 0,
                          "1 when the collector keeps failing and its figures are withdrawn", {{"collector", name}}));
      all.push_back(gauge("swarmkeeper_monitor_collector_duration_seconds", c.duration_s, "How long the collector's last run took", {{"collector", name}}));
      all.push_back(gauge("swarmkeeper_monitor_collector_up", c.error.empty() ? 1 : 0, "1 if the collector's last run succeeded", {{"collector", name}}));
    }
    all.push_back(gauge("swarmkeeper_monitor_aggregation_seconds", aggregation_s, "How long building the previous snapshot took"));
    all.push_back(counter("swarmkeeper_monitor_events_dropped_total", static_cast<double>(dropped), "Alert notifications dropped (given up after every retry)"));
    all.push_back(gauge("swarmkeeper_monitor_events_dropped_per_minute", static_cast<double>(dropped - drops_seen.front().second), "Alert notifications dropped in the last minute"));
    all.push_back(gauge("swarmkeeper_monitor_active_jobs", static_cast<double>(sched->active_jobs() + aggregator->active_jobs()),
                        "Scheduler jobs not yet ended"));
    all.push_back(gauge("swarmkeeper_monitor_active_handles",
                        static_cast<double>(sched->active_handles() + aggregator->active_handles()), "Scheduler handles alive"));
    if (http) {
      all.push_back(gauge("swarmkeeper_monitor_http_connections", static_cast<double>(http->connections()), "HTTP connections open (event streams included)"));
      all.push_back(counter("swarmkeeper_monitor_http_refused_total", static_cast<double>(http->refused()), "HTTP connections closed at accept: every slot busy"));
      all.push_back(counter("swarmkeeper_monitor_http_evicted_total", static_cast<double>(http->evicted()), "Idle HTTP connections closed to make room"));
    }
    all.push_back(gauge("swarmkeeper_monitor_resident_memory_bytes", metrics::resident_memory_bytes(), "The monitor's resident memory"));
    all.push_back(counter("swarmkeeper_monitor_scrapes_total", static_cast<double>(scrapes.load()), "/metrics requests served"));
    all.push_back(gauge("swarmkeeper_monitor_scrape_duration_seconds", last_scrape_s.load(),
                        "How long the last /metrics request took to answer (its body is the last snapshot)"));

    // Overdue cleanup: seconds since the last sign of a successful run (or since this
    // monitor started), while the census sees stale coordinators; 0 when it sees none.
    {
      double stale = 0;
      for (const auto& s : all)
        if (s.name == "swarmkeeper_coordinators" && !s.labels.empty() && s.labels[0].second == "stale") stale = s.value;
      const double since = std::max(last_success_ms.load(), static_cast<double>(started_ms));
      all.push_back(gauge("swarmkeeper_cleanup_last_success_age_seconds",
                          stale > 0 ? (static_cast<double>(wall_ms()) - since) / 1000 : 0,
                          "Seconds since the last sign of a successful cleanup (an audit entry, or a run by this monitor) "
                          "while stale coordinators exist; 0 when there are none"));
    }
    std::unordered_map<std::string, double> values;
    for (const auto& s : all) values[s.series()] = s.value;
    const std::int64_t now = wall_ms();
    for (const auto& t : alerts.evaluate(values, now)) notify(t);
    for (const auto& a : alerts.alerts()) {
      if (a.state != AlertState::pending && a.state != AlertState::firing) continue;
      all.push_back(gauge("swarmkeeper_alerts", 1, "Alerts pending or firing (like Prometheus' ALERTS)",
                          {{"alertname", a.rule->name}, {"alertstate", to_string(a.state)}, {"severity", a.rule->severity}}));
    }
    for (const auto& s : all) history.append(s.series(), now, s.value);
    std::map<std::string, std::string> facts;
    for (const auto& [name, c] : collected) facts.insert(c.facts.begin(), c.facts.end());
    const Advice advice = advise(history, values, facts, now, opts.history.count());
    all.push_back(gauge("swarmkeeper_build_info", 1, "The version and git revision of this swarmkeeper (always 1)",
                        {{"version", std::string(swarmkeeper::version())}, {"revision", std::string(swarmkeeper::revision())}}));
    all.push_back(gauge("swarmkeeper_web_insecure", insecure_listener ? 1 : 0,
                        "1: the dashboard listens beyond loopback without TLS, or without users or client certificates"));
    if (http) {
      all.push_back(gauge("swarmkeeper_web_tls", http->tls() ? 1 : 0, "1: the dashboard speaks TLS (--web-config)"));
      all.push_back(gauge("swarmkeeper_web_authentication", http->authenticates() ? 1 : 0,
                          "1: requests need basic-auth credentials (--web-config basic_auth_users)"));
      all.push_back(counter("swarmkeeper_web_auth_failures_total", static_cast<double>(http->auth_failures()),
                            "Requests with wrong or malformed credentials (each source slowed after 3)"));
      all.push_back(counter("swarmkeeper_web_tls_handshake_failures_total", static_cast<double>(http->tls_failures()),
                            "TLS handshakes that failed (plain HTTP to the TLS port, old TLS, refused client certificates)"));
    }
    if (!opts.web_config_file.empty()) {
      all.push_back(gauge("swarmkeeper_web_config_last_reload_successful", web_reload_ok ? 1 : 0,
                          "0: the last change to --web-config was invalid and the previous config stays in force"));
      all.push_back(gauge("swarmkeeper_web_config_last_reload_success_timestamp_seconds", web_reload_ok_at_s,
                          "When --web-config was last read successfully"));
    }
    all.push_back(gauge("swarmkeeper_recommendations", static_cast<double>(advice.recommendations.size()),
                        "Recommendations the monitor makes right now (see the dashboard or /api/snapshot)"));
    metrics_text = render_prometheus(all);
    json values_json = json::object();
    for (const auto& s : all) values_json[s.series()] = std::isfinite(s.value) ? json(s.value) : json(nullptr);
    snapshot = {{"at", now}, {"refreshMs", opts.refresh.count()}, {"values", std::move(values_json)},
                {"alerts", alerts_locked()}, {"cleanupRuns", cleanup_runs}, {"census", census_json_locked()},
                {"trendsPerMinute", advice.trends_per_minute}, {"recommendations", advice.recommendations},
                {"facts", facts},
                {"redisDownSince", redis_down_since_ms.load() == 0 ? json(nullptr) : json(redis_down_since_ms.load())}};
    ++version;
    aggregation_s = seconds_since(t0);
  }

  json census_json_locked() const {
    auto it = collected.find("census");
    json j = {{"complete", it != collected.end() && !it->second.samples.empty()}};
    if (it != collected.end()) j["error"] = it->second.error;
    return j;
  }

  json alerts_locked() const {
    json out = json::array();
    for (const auto& a : alerts.alerts()) {
      out.push_back({{"name", a.rule->name}, {"series", a.rule->series}, {"severity", a.rule->severity},
                     {"summary", a.rule->summary}, {"state", to_string(a.state)},
                     {"value", std::isfinite(a.value) ? json(a.value) : json(nullptr)}, {"threshold", a.rule->threshold},
                     {"activeAt", a.active_at_ms}, {"firedAt", a.fired_at_ms}, {"resolvedAt", a.resolved_at_ms}});
    }
    return out;
  }

  // A line of the monitor's log: to opts.log, or as text on stderr.
  void say(const char* level, const std::string& message, const json& fields) const {
    if (opts.log) {
      opts.log(MonitorLogLine{level, message, dump(fields)});
      return;
    }
    std::fprintf(stderr, "swarmkeeper monitor: %s\n", message.c_str());
  }

  // A transition goes to the log and, with a webhook, to the notifier (never blocks).
  void notify(const AlertTransition& t) {
    say(t.to == AlertState::firing ? "warn" : "info",
        std::string("alert ") + t.rule + " " + to_string(t.to) + " (value " + prom_number(t.alert.value) + ", threshold " +
            prom_number(t.alert.rule->threshold) + ")",
        {{"alert", t.rule}, {"state", to_string(t.to)}, {"severity", t.alert.rule->severity},
         {"value", std::isfinite(t.alert.value) ? json(t.alert.value) : json(nullptr)},
         {"threshold", t.alert.rule->threshold}});
    if (!opts.webhook) return;
    NotifiedAlert a{t.rule, t.alert.rule->severity, t.alert.rule->series, t.alert.rule->summary, prom_number(t.alert.value),
                    t.to == AlertState::resolved, t.alert.fired_at_ms, t.to == AlertState::resolved ? t.alert.resolved_at_ms : 0};
    {
      std::lock_guard lock(notify_mu);
      notifier_state.on_transition(std::move(a), steady_ms());
    }
    notify_cv.notify_one();
  }

  static std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  }

  static std::string iso_time(std::int64_t ms) {
    std::time_t s = ms / 1000;
    std::tm tm{};
    ::gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
  }

  // Alertmanager's v2 API: one array of alerts. A plain webhook: Alertmanager's own
  // notification object, one per alert.
  std::vector<std::string> webhook_bodies(const std::vector<NotifiedAlert>& batch) const {
    auto labels = [](const NotifiedAlert& a) {
      return json{{"alertname", a.name}, {"severity", a.severity}, {"series", a.series}, {"job", "swarmkeeper"}};
    };
    auto annotations = [](const NotifiedAlert& a) { return json{{"summary", a.summary}, {"value", a.value}}; };
    std::vector<std::string> bodies;
    if (webhook_alertmanager) {
      json alerts = json::array();
      for (const auto& a : batch) {
        json alert = {{"labels", labels(a)}, {"annotations", annotations(a)}, {"startsAt", iso_time(a.starts_at_ms)},
                      {"endsAt", iso_time(a.ends_at_ms)}};
        if (!generator_url.empty()) alert["generatorURL"] = generator_url;
        alerts.push_back(std::move(alert));
      }
      bodies.push_back(dump(alerts));
      return bodies;
    }
    for (const auto& a : batch) {
      json alert = {{"status", a.resolved ? "resolved" : "firing"}, {"labels", labels(a)}, {"annotations", annotations(a)},
                    {"startsAt", iso_time(a.starts_at_ms)},
                    {"endsAt", a.resolved ? iso_time(a.ends_at_ms) : "0001-01-01T00:00:00Z"}};
      if (!generator_url.empty()) alert["generatorURL"] = generator_url;
      json body = {{"version", "4"}, {"status", alert["status"]}, {"receiver", "swarmkeeper"},
                   {"groupLabels", {{"alertname", a.name}}}, {"commonLabels", alert["labels"]}, {"alerts", json::array({alert})}};
      if (!generator_url.empty()) body["externalURL"] = generator_url;
      bodies.push_back(dump(body));
    }
    return bodies;
  }

  // One delivery: every body POSTed. Returns how many of the batch's alerts went through
  // (Alertmanager: all or none, one body; a webhook: one body per alert, in order, up to
  // the first failure). A failure is counted by its reason and logged (never with the
  // URL's credentials).
  std::size_t deliver(const std::vector<NotifiedAlert>& batch, int attempt) {
    const auto bodies = webhook_bodies(batch);
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      auto r = http_post_json(webhook_target, bodies[i], std::chrono::seconds(5), stop_flag);
      if (r && *r >= 200 && *r < 300) {
        if (!webhook_alertmanager) ++webhook_sent;
        continue;
      }
      if (!r && r.error().code() == Errc::cancelled) return i;
      std::size_t reason = kWebhookFailures.size() - 1;
      if (r) reason = *r >= 500 ? 5 : *r >= 400 ? 4 : reason;
      else if (r.error().code() == Errc::dns_failure) reason = 0;
      else if (r.error().code() == Errc::connection_refused) reason = 1;
      else if (r.error().code() == Errc::timeout) reason = 2;
      else if (r.error().code() == Errc::tls_error) reason = 3;
      ++webhook_failures[reason];
      const std::string why = r ? "HTTP " + std::to_string(*r) : r.error().message();
      say("warn", "webhook attempt " + std::to_string(attempt) + " failed: " + why,
          {{"attempt", attempt}, {"reason", kWebhookFailures[reason]}, {"error", why}});
      return webhook_alertmanager ? 0 : i;
    }
    if (webhook_alertmanager) webhook_sent += batch.size();
    return batch.size();
  }

  void notifier_loop() {
    std::unique_lock lock(notify_mu);
    while (!stop_flag) {
      auto batch = notifier_state.take_due(steady_ms(), wall_ms());
      if (batch.empty()) {
        const std::int64_t next = notifier_state.next_due_ms();
        const auto wait = std::chrono::milliseconds(std::clamp<std::int64_t>(next - steady_ms(), 1, 3600000));
        notify_cv.wait_for(lock, wait, [&] { return stop_flag.load() || notifier_state.next_due_ms() <= steady_ms(); });
        continue;
      }
      const int attempt = notifier_state.attempt() + 1;
      lock.unlock();
      const std::size_t sent = deliver(batch, attempt);
      lock.lock();
      if (stop_flag) break;
      const auto dropped = notifier_state.delivered(sent == batch.size(), steady_ms(), sent);
      if (dropped.empty()) continue;
      webhook_dropped += dropped.size();
      std::string names;
      for (const auto& a : dropped) names += (names.empty() ? "" : ", ") + a.name + (a.resolved ? " (resolved)" : " (firing)");
      say("error", "gave up on " + std::to_string(dropped.size()) + " alert notification(s) after " + std::to_string(attempt) +
                       " attempts: " + names + "; firing ones are sent again at their next resend",
          {{"dropped", dropped.size()}, {"alerts", names}});
    }
  }

  // --- routes (HTTP thread) ---

  HttpResponse route(const std::string& target) {
    const auto q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    const auto t0 = Clock::now();
    std::lock_guard lock(mu);
    if (path == "/metrics") {
      ++scrapes;
      HttpResponse r{200, "text/plain; version=0.0.4; charset=utf-8", metrics_text};
      last_scrape_s = seconds_since(t0);  // from the request to the body in hand (the lock included)
      return r;
    }
    if (path == "/api/snapshot") return {200, "application/json", dump(snapshot)};
    if (path == "/api/alerts") return {200, "application/json", dump(alerts_locked())};
    if (path == "/api/history") {
      std::string series, window = "3600";
      try {  // (decoded, '+' as a space, as a form sends it)
        for (const auto& p : boost::urls::params_view(boost::core::string_view(query.data(), query.size()))) {
          if (p.key == "series") series = p.value;
          if (p.key == "window") window = p.value;
        }
      } catch (const std::exception&) {
        return {400, "text/plain; charset=utf-8", "bad query string (percent-escapes must be %XX)\n"};
      }
      char* end = nullptr;
      const bool plain = !window.empty() && window.find_first_not_of("0123456789.") == std::string::npos;
      const double w = plain ? std::strtod(window.c_str(), &end) : std::nan("");
      if (series.empty() || !end || *end || !std::isfinite(w) || w <= 0 || w > 30 * 86400)
        return {400, "application/json", R"({"error":"expected ?series=<name{labels}>&window=<seconds>"})"};
      return {200, "application/json",
              dump(history_json_locked(series, std::chrono::milliseconds(static_cast<std::int64_t>(w * 1000))))};
    }
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/favicon.ico") return {204, "image/x-icon", ""};
    if (path == "/readyz") {
      auto it = collected.find("redis");
      if (version == 0 || it == collected.end()) return {503, "text/plain; charset=utf-8", "not ready: no Redis data yet\n"};
      // That Redis is unreachable, not where it is: /readyz answers anyone who can probe.
      if (!it->second.error.empty()) return {503, "text/plain; charset=utf-8", "not ready: Redis unreachable\n"};
      return {200, "text/plain; charset=utf-8", "ready\n"};
    }
    return static_asset(path);
  }

  json history_json_locked(const std::string& series, std::chrono::milliseconds window) const {
    json t = json::array(), v = json::array();
    for (const auto& [ms, value] : history.read(series, wall_ms() - window.count())) {
      t.push_back(ms);
      v.push_back(std::isfinite(value) ? json(value) : json(nullptr));
    }
    return {{"series", series}, {"t", std::move(t)}, {"v", std::move(v)}};
  }

  HttpResponse static_asset(const std::string& path);
};

}  // namespace swarmkeeper::monitor

#include "monitor/web_assets.hpp"

namespace swarmkeeper::monitor {

std::string asset_type(std::string_view path) {
  auto ends = [&](std::string_view s) { return path.size() >= s.size() && path.substr(path.size() - s.size()) == s; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

HttpResponse Monitor::Impl::static_asset(const std::string& path) {
  const std::string p = path == "/" ? "/index.html" : path;
  if (!opts.assets_dir.empty() && p.find("..") == std::string::npos) {
    std::ifstream f(opts.assets_dir + p, std::ios::binary);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      return {200, asset_type(p), ss.str()};
    }
  }
  if (const WebAsset* a = find_web_asset(p)) return {200, a->type, std::string(reinterpret_cast<const char*>(a->data), a->size)};
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

Monitor::Monitor(MonitorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Monitor::~Monitor() { stop(); }

Result<void> Monitor::start() {
  Impl& m = *impl_;
  if (!(m.opts.refresh.count() >= 100)) return Error(Errc::invalid_argument, "--refresh must be at least 100ms");
  if (!(m.opts.history >= m.opts.refresh * 2)) return Error(Errc::invalid_argument, "--history must be at least two refreshes");
  if (m.opts.history / m.opts.refresh > 100000)
    return Error(Errc::invalid_argument, "--history / --refresh is more than 100,000 points per series; lengthen --refresh");
  if (m.opts.census_interval.count() < 0) return Error(Errc::invalid_argument, "the census interval must not be negative");
  if (!(m.opts.census_budget_percent > 0 && m.opts.census_budget_percent <= 100))
    return Error(Errc::invalid_argument, "the census budget must be in (0, 100] percent");
  if (auto v = m.opts.schema.validate(); !v) return v.error();
  // Beyond loopback without TLS or authentication: refused before anything binds, unless
  // the operator says so (then a warning, and swarmkeeper_web_insecure 1).
  auto loopback = listen_is_loopback(m.opts.listen);
  if (!loopback) return loopback.error();
  m.loopback_listener = *loopback;
  WebConfig web;
  if (!m.opts.web_config_file.empty()) {
    std::vector<std::pair<std::string, FileStamp>> seen;
    auto loaded = m.read_web_config(seen);
    if (!loaded) return loaded.error();
    web = std::move(*loaded);
    m.web_stamps = std::move(seen);
    m.web_reload_ok_at_s = static_cast<double>(wall_ms()) / 1000;
  }
  auto exposure = m.check_exposure(web);
  if (!exposure) return exposure.error();
  m.insecure_listener = exposure->insecure;
  if (!exposure->warning.empty()) m.say("warn", exposure->warning, {{"listen", m.opts.listen}});
  m.say_unused_headers(web);
  m.web_in_force = web;
  for (const auto& p : m.opts.web_public_paths)
    if (p != "/healthz" && p != "/readyz")
      return Error(Errc::invalid_argument, "--web-public " + p + ": only /healthz and /readyz may be public");
  // Host names as DNS has them (letters, digits, '-', dots between labels); no wildcard:
  // names are matched whole.
  for (const auto& name : m.opts.web_hostnames)
    if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' || name.front() == '-' ||
        name.find("..") != std::string::npos ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != std::string::npos)
      return Error(Errc::invalid_argument, "--web-hostname '" + name +
                                               "': expected a host name such as swarm.example.com (matched whole; no wildcards)");
  if (m.opts.webhook) {
    auto target = parse_webhook_url(*m.opts.webhook);
    if (!target) return target.error();
    m.webhook_target = std::move(*target);
    if (!(m.opts.webhook_resend >= std::chrono::seconds(1)))
      return Error(Errc::invalid_argument, "the webhook resend interval must be at least 1s");
    if (!m.opts.webhook_auth_file.empty()) {
      if (!m.webhook_target.authorization.empty())
        return Error(Errc::invalid_argument, "--webhook has user:password in its URL and --webhook-auth-file is given: "
                                             "keep the credentials in one place (the file, for a URL that shows in ps)");
      std::ifstream f(m.opts.webhook_auth_file);
      std::stringstream text;
      if (f) text << f.rdbuf();
      if (!f) return Error(Errc::invalid_argument, "--webhook-auth-file " + m.opts.webhook_auth_file + ": cannot read it");
      auto auth = authorization_from_text(text.str());
      if (!auth) return Error(Errc::invalid_argument, "--webhook-auth-file " + m.opts.webhook_auth_file + ": " + auth.error().message());
      m.webhook_target.authorization = std::move(*auth);
    }
    if (!m.opts.webhook_ca_file.empty()) {
      if (!std::ifstream(m.opts.webhook_ca_file))
        return Error(Errc::invalid_argument, "--webhook-ca " + m.opts.webhook_ca_file + ": cannot read it");
      m.webhook_target.ca_file = m.opts.webhook_ca_file;
    }
    const std::string path = boost::urls::parse_uri(m.webhook_target.url)->path();
    m.webhook_alertmanager = m.opts.webhook_format == MonitorOptions::WebhookFormat::alertmanager ||
                             (m.opts.webhook_format == MonitorOptions::WebhookFormat::automatic && path.ends_with("/api/v2/alerts"));
  }
  ClientOptions co;
  co.connection = m.opts.connection;
  co.connection.client_name = "swarmkeeper-monitor";
  co.min_connections = 1;
  co.acquire_timeout = std::chrono::milliseconds(1000);  // Redis down: collectors fail fast, stop() is prompt
  co.connection.connect_timeout = std::min(co.connection.connect_timeout, std::chrono::milliseconds(2000));
  co.max_connections = 4;
  // Opened now: a wrong URL or password fails here, with its reason; a plain URL to a
  // cluster node watches the whole cluster.
  m.redis = std::make_unique<SyncRouter>(co);
  if (auto opened = m.redis->open(); !opened) {
    const Error& e = opened.error();
    if (e.code() == Errc::auth_failed || e.code() == Errc::invalid_argument || e.code() == Errc::no_permission) return e;
    // Unreachable (not refused): serve anyway, with swarmkeeper_redis_up 0 and /readyz
    // 503, and open it when it answers; ready by itself then.
    m.say("error", "Redis unreachable at start: " + e.message() + "; serving and retrying", {{"error", e.message()}});
    m.redis_down_since_ms = wall_ms();  // (the redis collector then logs only the recovery)
  }
  HttpRoutes routes;
  routes.get = [&m](const std::string& target) { return m.route(target); };
  routes.version = [&m] {
    std::lock_guard lock(m.mu);
    return m.version;
  };
  routes.event = [&m] {
    std::lock_guard lock(m.mu);
    return dump(m.snapshot);
  };
  HttpServerOptions server;
  server.listen = m.opts.listen;
  server.hostnames = m.opts.web_hostnames;
  server.web = std::move(web);
  server.public_paths = m.opts.web_public_paths;
  auto http = HttpServer::start(server, std::move(routes));
  if (!http) return http.error();
  m.http = std::move(*http);
  m.sched = std::make_unique<sched::Scheduler>(sched::SchedulerOptions{.threads = 6});
  m.aggregator = std::make_unique<sched::Scheduler>(sched::SchedulerOptions{.threads = 1});  // never behind a collector
  const auto refresh = m.opts.refresh;
  const auto probe_every = std::max(refresh / 10, std::chrono::milliseconds(10));
  m.probe_every = probe_every;
  m.collect_redis();  // a first snapshot before anyone asks
  m.collect_cleanup();
  m.aggregate();
  m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.probe(); }, {.period = probe_every}));
  m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.collect_redis(); }, {.delay = refresh, .period = refresh}));
  m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.collect_cleanup(); }, {.delay = refresh, .period = refresh}));
  m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.collect_clients(); }, {.period = refresh}));
  m.jobs.push_back(m.sched->submit([&m](std::stop_token st) { m.census_slice(st); }, {.period = std::chrono::milliseconds(10)}));
  m.jobs.push_back(m.aggregator->submit([&m](std::stop_token) { m.aggregate(); }, {.delay = refresh, .period = refresh}));
  if (m.opts.cleanup_every)
    m.jobs.push_back(m.sched->submit([&m](std::stop_token st) { m.run_cleanup_now(st); }, {.period = *m.opts.cleanup_every}));
  if (!m.opts.web_config_file.empty())
    m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.watch_web_config(); }, {.delay = std::chrono::seconds(1), .period = std::chrono::seconds(1)}));
  if (m.opts.webhook) {
    // The dashboard's address for Alertmanager's links: a configured name, or the listen
    // address unless it is a wildcard (then none: no made-up host).
    std::string host = m.opts.web_hostnames.empty() ? m.opts.listen.substr(0, m.opts.listen.rfind(':')) : m.opts.web_hostnames[0];
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    if (host != "0.0.0.0" && host != "[::]" && !host.empty())
      m.generator_url = (m.http->tls() ? "https://" : "http://") + host + ":" + std::to_string(m.http->port()) + "/";
    m.notifier = std::thread([&m] { m.notifier_loop(); });
  }
  return {};
}

void Monitor::stop() {
  Impl& m = *impl_;
  m.stop_flag = true;
  if (m.http) m.http->stop();
  for (auto& j : m.jobs) j.cancel();
  if (m.aggregator) m.aggregator->shutdown(sched::Scheduler::Shutdown::cancel);
  if (m.sched) m.sched->shutdown(sched::Scheduler::Shutdown::cancel);
  m.jobs.clear();
  {
    std::lock_guard lock(m.notify_mu);  // (stop_flag is set: a waiting notifier wakes and ends)
  }
  m.notify_cv.notify_all();
  if (m.notifier.joinable()) m.notifier.join();
  m.aggregator.reset();
  m.sched.reset();
  m.http.reset();
  m.census_nodes.clear();
  m.redis.reset();
}

std::uint16_t Monitor::port() const { return impl_->http ? impl_->http->port() : 0; }
bool Monitor::serves_tls() const { return impl_->http && impl_->http->tls(); }

Result<void> Monitor::reload_web_config() {
  Impl& m = *impl_;
  if (m.opts.web_config_file.empty() || !m.http) return {};
  std::lock_guard lock(m.web_mu);
  return m.reload_web_locked();
}

std::string Monitor::metrics_text() const {
  std::lock_guard lock(impl_->mu);
  return impl_->metrics_text;
}
std::string Monitor::snapshot_json() const {
  std::lock_guard lock(impl_->mu);
  return dump(impl_->snapshot);
}
std::string Monitor::alerts_json() const {
  std::lock_guard lock(impl_->mu);
  return dump(impl_->alerts_locked());
}
std::string Monitor::history_json(const std::string& series, std::chrono::milliseconds window) const {
  std::lock_guard lock(impl_->mu);
  return dump(impl_->history_json_locked(series, window));
}

}  // namespace swarmkeeper::monitor
