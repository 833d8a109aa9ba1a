// SPDX-License-Identifier: Apache-2.0
// monitor.hpp — the monitor behind `swarmkeeper serve`: collectors over Redis, the
// swarm and the cleanup; history; alert rules; an HTTP server with the dashboard,
// Prometheus /metrics, JSON APIs and a live event stream.
//
// Collectors run as periodic jobs on the scheduler (sched/), each within a time budget;
// every refresh an aggregation step turns their latest results into one snapshot (a
// list of Prometheus samples), appends it to the history, evaluates the alert rules and
// tells the event stream. A scrape or an API call only reads the last snapshot: it
// never waits on a collector.
//
// Collectors:
//   probe    PING every refresh/10; client-side P50/P95/P99 over the last minute
//   redis    INFO all (memory, clients, ops/s, hit ratio, evictions, rejected
//            connections, keyspace, command and error stats), SLOWLOG LEN
//   census   a SCAN of the whole keyspace under a Redis CPU budget (INFO cpu, measured)
//            with a resumable cursor: coordinators by state (the cleanup's staleness
//            rule), heartbeat ages, keys per family, and the queue backlogs of the
//            configured patterns (LLEN / ZCARD / XLEN)
//   cleanup  its audit stream (the newest entry: the last reap), the lock; with
//            cleanup_every, the monitor runs the cleanup itself on that schedule
//   clients  the monitor's own Client, and the embedding application's (app_client_metrics)
//
//   MonitorOptions o;  o.connection = *resolve_connection_options(url);
//   Monitor m(o);
//   if (auto started = m.start(); !started) report(started.error());
//   ... m.stop();
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "swarmkeeper/client/client_metrics.hpp"
#include "swarmkeeper/coord/key_schema.hpp"
#include "swarmkeeper/error.hpp"
#include "swarmkeeper/monitor/alert_rules.hpp"
#include "swarmkeeper/net/connection_options.hpp"

namespace swarmkeeper::monitor {

/// One line of the monitor's own log: an alert that fires or resolves, a webhook POST
/// that failed, a scheduled cleanup that failed.
struct MonitorLogLine {
  const char* level = "info";  ///< "info", "warn" or "error"
  std::string message;         ///< for people: "alert X firing (value 7, threshold 5)"
  std::string fields_json;     ///< the same for machines: the text of one JSON object
};

struct MonitorOptions {
  ConnectionOptions connection;
  /// Where the HTTP server listens: host:port. Default loopback only.
  std::string listen = "127.0.0.1:9840";
  /// TLS and basic-auth users: a file in the Prometheus exporter-toolkit's web config
  /// format (tls_server_config, http_server_config, basic_auth_users). Re-read when it or
  /// a file it names changes (checked every second) and on reload_web_config(); an
  /// invalid new version is logged and the one in force stays. Empty: plain HTTP, no
  /// authentication.
  std::string web_config_file;
  /// With users configured, these paths answer without credentials ("/healthz",
  /// "/readyz": what an orchestrator probes). Default: none.
  std::vector<std::string> web_public_paths;
  /// A listen address beyond loopback with neither TLS nor users is refused (start()
  /// fails with invalid_argument) unless this is set.
  bool insecure_listen = false;
  /// Host names requests may carry in their Host header besides IP literals and
  /// localhost (others get 421: a browser tricked by DNS rebinding sends its attacker's).
  std::vector<std::string> web_hostnames;
  /// Snapshot interval (and history resolution). Default 5 s.
  std::chrono::milliseconds refresh{5000};
  /// History kept per series. Default 1 h (720 points at 5 s).
  std::chrono::milliseconds history{3600000};
  /// Key schema and staleness threshold of the swarm (as the cleanup's).
  KeySchema schema;
  std::int64_t stale_threshold_ms = 600000;
  /// The census' share of Redis CPU (percent of wall time) while it runs. Default 5.
  double census_budget_percent = 5;
  /// A census pass starts at most this often (a pass that takes longer starts the
  /// next as soon as it ends). 0: every refresh, so a change in the swarm shows within
  /// two refreshes where the census is quick. Default 0.
  std::chrono::milliseconds census_interval{0};
  /// Queue backlog patterns (Redis glob). Default: BullMQ's.
  std::vector<std::string> queue_patterns = {"bull:*:id", "bull:*:wait", "bull:*:active", "bull:*:delayed",
                                             "bull:*:failed"};
  /// Alert rules; empty: the built-in ones.
  std::vector<AlertRule> rules;
  /// POST firing and resolved alerts here, if set: http:// or https:// (verified against
  /// the system's CAs or webhook_ca_file); user:password in the URL goes as Basic
  /// authorization and never into a log.
  std::optional<std::string> webhook;
  /// The body: Alertmanager's v2 API (an array of alerts), or a webhook notification
  /// object as Alertmanager sends its receivers. automatic: the first when the URL's path
  /// ends in /api/v2/alerts.
  enum class WebhookFormat { automatic, alertmanager, webhook };
  WebhookFormat webhook_format = WebhookFormat::automatic;
  /// Firing alerts are sent again this often (their endsAt 4 intervals ahead), as
  /// Prometheus does: a receiver that was away gets them. Default 1 min.
  std::chrono::milliseconds webhook_resend{60000};
  /// A file with the Authorization to send: "user:password", or "Bearer TOKEN".
  std::string webhook_auth_file;
  /// https: trust the CAs in this PEM file instead of the system's.
  std::string webhook_ca_file;
  /// Run the cleanup on this schedule (under its lock), if set.
  std::optional<std::chrono::milliseconds> cleanup_every;
  /// Dashboard assets directory; empty: the ones built into the binary.
  std::string assets_dir;
  /// An application that embeds the monitor: its Client's metrics (per-command calls,
  /// errors and latency, pool use, compression), read every refresh on a scheduler
  /// thread and shown with client="app" (SyncClient::metrics() is safe to pass; for a
  /// Client, read metrics() on its executor). The monitor's own client is always shown
  /// with client="monitor".
  std::function<ClientMetricsSnapshot()> app_client_metrics;
  /// Where the monitor's log lines go. Called from the monitor's threads, one call at a
  /// time is not promised: the callee serialises. Unset: "swarmkeeper monitor: <message>"
  /// on stderr.
  std::function<void(const MonitorLogLine&)> log;
};

class Monitor {
 public:
  explicit Monitor(MonitorOptions options);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  /// Connects, binds the listener and starts the collectors. Fails with the connection's
  /// error, or invalid_argument for a bad listen address / options, or io_error when the
  /// port is taken.
  Result<void> start();
  /// Stops serving and collecting; joins every thread. Idempotent.
  void stop();
  /// The port the server listens on (after start()).
  std::uint16_t port() const;
  /// Whether the server speaks TLS (after start()).
  bool serves_tls() const;
  /// Reads the web config file again and puts it in force (e.g. on SIGHUP). On failure
  /// the one in force stays and the error (invalid_argument) names file, key and
  /// problem. Any thread, after start().
  Result<void> reload_web_config();

  /// The last snapshot as Prometheus text.
  std::string metrics_text() const;
  /// The last snapshot, alerts and cleanup runs as JSON.
  std::string snapshot_json() const;
  /// Every alert rule with its state, as JSON.
  std::string alerts_json() const;
  /// A series' history over the last `window` as JSON ({"series", "t": [...], "v": [...]}).
  std::string history_json(const std::string& series, std::chrono::milliseconds window) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace swarmkeeper::monitor
