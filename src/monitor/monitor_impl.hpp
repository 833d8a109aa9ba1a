// SPDX-License-Identifier: Apache-2.0
// monitor_impl.hpp — what the pieces of the Monitor (monitor.hpp) share: Monitor::Impl,
// its state with what guards each field, and where each piece lives:
//   collectors.cpp       the jobs that read Redis (PING, INFO, the cleanup's keys, client figures)
//                        and the scheduled cleanup
//   census_driver.cpp    the census: SCAN slices on each master, paced, into census.hpp's tally
//   snapshot.cpp         store() and aggregate(): samples into the snapshot, history, alerts, /metrics
//   alert_delivery.cpp   the log line and the webhook: transitions, bodies, the notifier thread
//   web_config_watch.cpp --web-config: exposure checks, reloads when its files change
//   routes.cpp           the HTTP routes and the dashboard's files
//   monitor.cpp          start() and stop(), and the public methods
// Threads: collectors on the scheduler (sched), aggregate() on its own (aggregator),
// routes on the HTTP server's, the notifier on its own. Fields say what guards them;
// the rest is written once in start() or belongs to one job.
#pragma once

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

#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>

#include "client/sync_router.hpp"
#include "coord/pacer.hpp"
#include "coord/server_info.hpp"
#include "monitor/advice.hpp"
#include "monitor/census.hpp"
#include "monitor/history.hpp"
#include "monitor/http_server.hpp"
#include "monitor/notifier.hpp"
#include "monitor/prom_text.hpp"
#include "monitor/redis_info.hpp"
#include "monitor/web_config.hpp"
#include "sched/annotated_mutex.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/coord/cleanup.hpp"
#include "swarmkeeper/metrics/collector.hpp"
#include "swarmkeeper/metrics/process.hpp"
#include "swarmkeeper/monitor/alert_rules.hpp"
#include "swarmkeeper/sched/scheduler.hpp"
#include "swarmkeeper/version.hpp"

namespace swarmkeeper::monitor {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
// JSON text; key names from Redis may be any bytes: invalid UTF-8 becomes U+FFFD.
inline std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

inline Sample gauge(std::string name, double v, std::string help,
                    std::vector<std::pair<std::string, std::string>> labels = {}) {
  return Sample{std::move(name), std::move(labels), v, MetricType::gauge, std::move(help), {}};
}
inline Sample counter(std::string name, double v, std::string help,
                      std::vector<std::pair<std::string, std::string>> labels = {}) {
  return Sample{std::move(name), std::move(labels), v, MetricType::counter, std::move(help), {}};
}

// What one collector last produced, and when.
struct Collected {
  std::vector<Sample> samples;
  Clock::time_point at{};
  Clock::time_point ok_at{};          ///< the last run that succeeded ({}: none yet)
  bool current = false;               ///< samples are the last run's (a success, or a failure's own)
  Clock::time_point failing_since{};  ///< the first failure since the last success ({}: none)
  double duration_s = 0;
  std::string error;                         ///< the last failure, empty when the last run succeeded
  std::map<std::string, std::string> facts;  ///< non-numeric findings (maxmemory_policy, ...)
};

struct Monitor::Impl {
  explicit Impl(MonitorOptions o)
      : opts(std::move(o)),
        alerts(opts.rules.empty() ? default_alert_rules() : opts.rules),
        history(static_cast<std::size_t>(std::max<std::int64_t>(
            2, opts.history.count() / std::max<std::int64_t>(1, opts.refresh.count())))),
        probe_latency(probe_collector.latency("probe")),
        notifier_state(opts.webhook_resend) {}

  // --- set in start(), before any job; constant after ---
  MonitorOptions opts;
  // Redis: one server, or every master of a cluster (name "host:port", labelled
  // node="..." in /metrics), behind one router; commands on a key go to its owner.
  // Thread-safe.
  std::unique_ptr<SyncRouter> redis;
  std::unique_ptr<sched::Scheduler> sched;       // collectors
  std::unique_ptr<sched::Scheduler> aggregator;  // snapshots
  std::vector<sched::JobHandle> jobs;
  std::unique_ptr<HttpServer> http;
  std::thread notifier;
  bool loopback_listener = true;
  WebhookTarget webhook_target;
  bool webhook_alertmanager = false;
  std::string generator_url;  // the dashboard, for Alertmanager's generatorURL
  std::chrono::milliseconds probe_every{500};
  const std::int64_t started_ms = wall_ms();
  const Clock::time_point started_at = Clock::now();

  // --- guarded by mu: what the collectors found, and what the routes serve (checked by
  // Clang's thread-safety analysis: sched/annotated_mutex.hpp) ---
  mutable sched::Mutex mu;
  std::map<std::string, Collected> collected SK_GUARDED_BY(mu);  // by collector name
  AlertEngine alerts SK_GUARDED_BY(mu);
  History history SK_GUARDED_BY(mu);
  std::string metrics_text SK_GUARDED_BY(mu);  // the last snapshot
  json snapshot SK_GUARDED_BY(mu) = json::object();
  json cleanup_runs SK_GUARDED_BY(mu) = json::array();  // runs made by this monitor
  std::uint64_t version SK_GUARDED_BY(mu) = 0;          // bumps with each snapshot
  double aggregation_s SK_GUARDED_BY(mu) = 0;
  std::deque<std::pair<Clock::time_point, std::uint64_t>> drops_seen
      SK_GUARDED_BY(mu);  // for the per-minute rate

  // --- atomics: written by one thread, read by the aggregation and the routes ---
  metrics::Collector probe_collector;  // (thread-safe)
  metrics::Latency& probe_latency;
  std::atomic<std::uint64_t> probe_failures{0};
  std::atomic<std::int64_t> probe_started_ns{0};     // the PING waiting now (steady clock), 0: none
  std::atomic<std::int64_t> longest_wait_ns{0};      // the longest PING since the last snapshot
  std::atomic<std::int64_t> redis_down_since_ms{0};  // wall ms; 0 while Redis answers
  std::atomic<double> last_success_ms{0};            // the newest sign of a successful cleanup (wall ms)
  std::atomic<std::uint64_t> scrapes{0};
  std::atomic<double> last_scrape_s{0};
  std::atomic<bool> stop_flag{false};
  std::atomic<bool> insecure_listener{false};  // beyond loopback without TLS, or without users/client certs
  std::atomic<bool> web_reload_ok{true};
  std::atomic<double> web_reload_ok_at_s{0};
  std::atomic<std::uint64_t> webhook_sent{0}, webhook_dropped{0};
  static constexpr std::array<const char*, 7> kWebhookFailures = {"dns",      "connect",  "timeout", "tls",
                                                                  "http_4xx", "http_5xx", "other"};
  std::array<std::atomic<std::uint64_t>, kWebhookFailures.size()> webhook_failures{};

  // --- guarded by notify_mu: what the notifier sends when (a std::mutex, for the
  // condition variable's std::unique_lock: not checked by the analysis) ---
  std::mutex notify_mu;
  std::condition_variable notify_cv;
  NotifierState notifier_state;

  // --- guarded by web_mu (one reload at a time; checked like mu) ---
  sched::Mutex web_mu;
  WebConfig web_in_force SK_GUARDED_BY(web_mu);  // set in start(), then by reloads
  std::vector<std::pair<std::string, FileStamp>> web_stamps
      SK_GUARDED_BY(web_mu);  // the files read at the last reload
  std::vector<std::pair<std::string, FileStamp>> web_changing SK_GUARDED_BY(web_mu);  // changed, seen once

  // --- one job's own ---
  std::map<std::string, RedisInfo> prev_info;  // the redis job's: by node name
  std::string refusal_said;                    // the redis job's: the last refusal logged
  std::unique_ptr<CensusTally> tally;          // the census job's, from here down
  std::string census_cursor = "0";
  std::size_t census_node = 0;                   // which master the cursor walks
  std::vector<SyncRouter::Master> census_nodes;  // the masters of this pass
  Clock::time_point census_started;
  double census_cpu_used = 0;

  // collectors.cpp (scheduler threads)
  static constexpr std::chrono::milliseconds kProbeFailureLatency{1000};
  void probe();
  void collect_redis();
  void cluster_samples(std::vector<Sample>& out, const std::vector<SyncRouter::Master>& set);
  void collect_clients();
  void collect_cleanup();
  void run_cleanup_now(std::stop_token st);

  // census_driver.cpp (the census job)
  void census_slice(std::stop_token st);
  std::optional<double> server_cpu();
  void census_failed(const std::string& why);
  void finish_census();

  // snapshot.cpp: store() from the collectors, the rest on the aggregator (mu held
  // where the name says _locked)
  void store(const std::string& name, std::vector<Sample> samples, Clock::time_point t0,
             std::string error = {}, std::map<std::string, std::string> facts = {}, bool replace = false);
  void aggregate();
  json census_json_locked() const SK_REQUIRES(mu);
  json alerts_locked() const SK_REQUIRES(mu);
  json history_json_locked(const std::string& series, std::chrono::milliseconds window) const SK_REQUIRES(mu);

  // alert_delivery.cpp
  void say(const char* level, const std::string& message, const json& fields) const;
  void notify(const AlertTransition& t);
  static std::int64_t steady_ms();
  static std::string iso_time(std::int64_t ms);
  std::vector<std::string> webhook_bodies(const std::vector<NotifiedAlert>& batch) const;
  std::size_t deliver(const std::vector<NotifiedAlert>& batch, int attempt);
  void notifier_loop();

  // web_config_watch.cpp
  // Whether `web` may serve on the listen address (beyond loopback it needs TLS or users,
  // or --insecure-listen); its value: whether it is insecure there, with the warning to
  // log once it is in force ("" if none).
  struct Exposure {
    bool insecure = false;
    std::string warning;
  };
  Result<Exposure> check_exposure(const WebConfig& web) const;
  static Result<void> no_weaker(const WebConfig& next, const WebConfig& in_force);
  static std::vector<std::pair<std::string, FileStamp>> stamps(const std::vector<std::string>& files);
  Result<WebConfig> read_web_config(std::vector<std::pair<std::string, FileStamp>>& seen) const
      SK_REQUIRES(web_mu);
  Result<void> reload_web_locked() SK_REQUIRES(web_mu);
  void say_unused_headers(const WebConfig& web) const;
  void watch_web_config();

  // routes.cpp (HTTP thread)
  HttpResponse route(const std::string& target);
  HttpResponse static_asset(const std::string& path);
};

}  // namespace swarmkeeper::monitor
