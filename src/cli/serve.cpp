// SPDX-License-Identifier: Apache-2.0
// serve.cpp — `swarmkeeper serve`: reads the flags, starts the Monitor, waits for a
// stop signal, stops it.
#include "cli/serve.hpp"

#include <crypt.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/cleanup_output.hpp"
#include "cli/validators.hpp"
#include "monitor/web_config.hpp"
#include "resp/numbers.hpp"
#include "swarmkeeper/monitor/alert_rules.hpp"
#include "swarmkeeper/monitor/monitor.hpp"

namespace swarmkeeper::cli {

void add_serve_options(CLI::App* s, ServeArgs& a) {
  add_log_format_option(s, a.log_format);
  s->add_option("--url", a.url,
                "Redis URL (default: REDIS_URL, then REDIS_HOST/PORT/PASSWORD/DB, then 127.0.0.1:6379/0)");
  s->add_option("--listen", a.listen,
                "host:port to serve the dashboard, /metrics and the APIs on; loopback by default "
                "(beyond loopback needs --web-config with TLS or users, or --insecure-listen)")
      ->capture_default_str();
  s->add_option(
      "--web-config", a.web_config,
      "TLS and basic-auth users, in the Prometheus exporter-toolkit's web config format (YAML); re-read "
      "when it or its certificates change, and on SIGHUP");
  s->add_option("--web-public", a.web_public,
                "Paths answered without credentials when users are configured: /healthz and/or /readyz "
                "(for an orchestrator's probes), comma-separated")
      ->delimiter(',');
  s->add_flag("--insecure-listen", a.insecure_listen,
              "Allow a --listen beyond loopback with neither TLS nor users (a warning, and "
              "swarmkeeper_web_insecure 1)");
  s->add_option("--web-hostname", a.web_hostnames,
                "Host names the dashboard answers to besides IP addresses and localhost (requests naming "
                "another get 421), "
                "comma-separated, e.g. swarm.example.com")
      ->delimiter(',');
  s->add_option("--refresh", a.refresh, "Snapshot interval and history resolution (e.g. 5s, 1s, 500ms)")
      ->capture_default_str();
  s->add_option("--history", a.history, "History kept per series (e.g. 1h, 30m)")->capture_default_str();
  s->add_option("--threshold", a.threshold,
                "Heartbeat age after which a coordinator is stale (as for cleanup)")
      ->envname("SWARMKEEPER_THRESHOLD")
      ->capture_default_str();
  s->add_option("--rules", a.rules_file,
                "Alert rules (JSON; see deploy/alert-rules.json); default: the built-in rules");
  s->add_option(
      "--webhook", a.webhook,
      "POST firing and resolved alerts here: an Alertmanager (http://am:9093/api/v2/alerts) or any webhook; "
      "http:// or https://; user:password@ in the URL goes as Basic authorization, never into a log");
  s->add_option(
       "--webhook-format", a.webhook_format,
       "alertmanager: the v2 API's array of alerts; webhook: Alertmanager's notification object; auto: "
       "alertmanager when the URL's path ends in /api/v2/alerts")
      ->check(CLI::IsMember({"auto", "alertmanager", "webhook"}))
      ->capture_default_str();
  s->add_option("--webhook-resend", a.webhook_resend,
                "Send firing alerts again this often, as Prometheus does (at least 1s)")
      ->capture_default_str();
  s->add_option(
      "--webhook-auth-file", a.webhook_auth_file,
      "A file holding the webhook's credentials: user:password, or Bearer TOKEN (sent as Authorization)");
  s->add_option("--webhook-ca", a.webhook_ca,
                "https webhook: trust the CAs in this PEM file instead of the system's");
  s->add_option("--cleanup-every", a.cleanup_every,
                "Run the cleanup on this schedule (e.g. 5m), under its lock");
  s->add_option("--queues", a.queues,
                "Queue key patterns (Redis glob) whose backlogs to show, space- or comma-separated "
                "(default: bull:*:id bull:*:wait bull:*:active bull:*:delayed bull:*:failed)")
      ->delimiter(',');
  s->add_option("--schema", a.schema_file, "Key schema JSON (as for cleanup)");
  s->add_option("--census-budget", a.census_budget, "The census' share of Redis CPU, in percent (0.1-100)")
      ->capture_default_str()
      ->group("Advanced");
  s->add_option("--census-every", a.census_every,
                "Start a census pass at most this often (e.g. 30s, 5m); "
                "default: every refresh (its Redis CPU stays within --census-budget)")
      ->group("Advanced");
  s->add_option("--assets", a.assets_dir,
                "Serve the dashboard's files from this directory instead of the built-in ones")
      ->group("Advanced");
}

namespace {

int usage(const std::string& msg) {
  std::cerr << "swarmkeeper serve: " << msg << "\nRun 'swarmkeeper serve --help' for usage.\n";
  return 64;
}

}  // namespace

int run_serve(const ServeArgs& a, const std::atomic<bool>& stop, std::atomic<bool>& reload) {
  monitor::MonitorOptions o;
  o.listen = a.listen;
  o.insecure_listen = a.insecure_listen;
  o.web_config_file = a.web_config;
  o.web_public_paths = a.web_public;
  if (!a.web_public.empty() && a.web_config.empty())
    return usage(
        "--web-public makes paths public when --web-config has users; without --web-config every path is");
  o.web_hostnames = a.web_hostnames;
  const auto refresh = parse_duration_ms(a.refresh);
  if (!refresh || *refresh < 100 || *refresh > 3600000)
    return usage(bad_value("--refresh", a.refresh, "a duration from 100ms to 1h", "5s"));
  const auto history = parse_duration_ms(a.history);
  if (!history || *history < 2 * *refresh || *history / *refresh > 100000)
    return usage(bad_value("--history", a.history,
                           "a duration of at least two refreshes and at most 100,000 of them", "1h"));
  const auto threshold = parse_duration_ms(a.threshold);
  if (!threshold) return usage(bad_value("--threshold", a.threshold, "a positive duration", "600, 10m"));
  if (!(a.census_budget >= 0.1 && a.census_budget <= 100))
    return usage(
        bad_value("--census-budget", std::to_string(a.census_budget), "a percentage from 0.1 to 100", "5"));
  if (a.census_every) {
    const auto every = parse_duration_ms(*a.census_every);
    if (!every || *every > 86400000)
      return usage(bad_value("--census-every", *a.census_every, "a duration from 1ms to 24h", "30s"));
    o.census_interval = std::chrono::milliseconds(*every);
  }
  o.refresh = std::chrono::milliseconds(*refresh);
  o.history = std::chrono::milliseconds(*history);
  o.stale_threshold_ms = *threshold;
  o.census_budget_percent = a.census_budget;
  if (a.cleanup_every) {
    const auto every = parse_duration_ms(*a.cleanup_every);
    if (!every || *every < 1000)
      return usage(bad_value("--cleanup-every", *a.cleanup_every, "a duration of at least 1s", "5m"));
    o.cleanup_every = std::chrono::milliseconds(*every);
  }
  if (a.webhook) o.webhook = *a.webhook;  // checked by the monitor, whose message never shows a password
  const auto resend = parse_duration_ms(a.webhook_resend);
  if (!resend || *resend < 1000 || *resend > 86400000)
    return usage(bad_value("--webhook-resend", a.webhook_resend, "a duration from 1s to 24h", "1m"));
  o.webhook_resend = std::chrono::milliseconds(*resend);
  o.webhook_format = a.webhook_format == "alertmanager" ? monitor::MonitorOptions::WebhookFormat::alertmanager
                     : a.webhook_format == "webhook"    ? monitor::MonitorOptions::WebhookFormat::webhook
                                                        : monitor::MonitorOptions::WebhookFormat::automatic;
  o.webhook_auth_file = a.webhook_auth_file;
  o.webhook_ca_file = a.webhook_ca;
  if (!a.queues.empty()) o.queue_patterns = a.queues;
  if (!a.rules_file.empty()) {
    auto rules = monitor::load_alert_rules(a.rules_file);
    if (!rules) return usage(rules.error().message());
    o.rules = std::move(*rules);
  }
  if (!a.schema_file.empty()) {
    auto s = load_key_schema(a.schema_file);
    if (!s) return usage(s.error().message());
    o.schema = *s;
  }
  o.assets_dir = a.assets_dir;
  auto conn = resolve_connection_options(a.url);
  if (!conn) return usage(conn.error().message());
  o.connection = *conn;
  const bool json = a.log_format == "json";
  // One line at a time: the monitor logs from its own threads.
  auto log_mutex = std::make_shared<std::mutex>();
  auto say = [json, log_mutex](const char* level, const std::string& msg,
                               const nlohmann::ordered_json& fields = {}) {
    const std::string line = json ? json_log_line(level, msg, fields) : "swarmkeeper serve: " + msg;
    std::lock_guard lock(*log_mutex);
    std::cerr << line << std::endl;
  };
  o.log = [say](const monitor::MonitorLogLine& line) {
    say(line.level, line.message, nlohmann::ordered_json::parse(line.fields_json, nullptr, false));
  };
  monitor::Monitor m(o);
  if (auto started = m.start(); !started) {
    say("error", started.error().message());
    return started.error().code() == Errc::invalid_argument ? 64 : 1;
  }
  std::string host = a.listen.substr(0, a.listen.rfind(':'));
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";  // IPv6
  const std::string url =
      (m.serves_tls() ? "https://" : "http://") + host + ":" + std::to_string(m.port()) + "/";
  say("info", "dashboard on " + url + " (metrics at /metrics), watching " + conn->display(),
      {{"url", url}, {"redis", conn->display()}});
  while (!stop.load()) {
    if (reload.exchange(false)) {
      if (a.web_config.empty())
        say("info", "SIGHUP: nothing to reload (no --web-config)");
      else
        (void)m.reload_web_config();  // logs its outcome
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  say("info", "stopping");
  m.stop();
  return 0;
}

int run_hash_password(int cost) {
  if (cost < monitor::kMinBcryptCost || cost > monitor::kMaxBcryptCost) {
    std::cerr << "swarmkeeper hash-password: --cost " << cost
              << ": expected 4-17 (10 is htpasswd's default; each step "
                 "doubles a login's time)\n";
    return 64;
  }
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::cerr << "Password: " << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string password;
  std::getline(std::cin, password);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  std::string more;
  const bool extra_line = !tty && std::getline(std::cin, more) && !more.empty();
  const char* problem =
      password.empty()       ? "the password is empty (give it on standard input)"
      : extra_line           ? "standard input holds more than one line: give one password"
      : password.size() > 72 ? "the password is longer than bcrypt's 72 bytes (it would match on a prefix)"
      : password.find('\0') != std::string::npos ? "the password holds a NUL byte (no login could send it)"
                                                 : nullptr;
  if (problem) {
    std::fill(password.begin(), password.end(), '\0');
    std::cerr << "swarmkeeper hash-password: " << problem << "\n";
    return 64;
  }
  crypt_data data{};
  const char* setting = crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost), nullptr, 0, data.setting,
                                         sizeof data.setting);
  const char* hash = setting ? crypt_r(password.c_str(), setting, &data) : nullptr;
  std::fill(password.begin(), password.end(), '\0');
  if (!hash || hash[0] != '$') {
    std::cerr << "swarmkeeper hash-password: the system's crypt cannot make a bcrypt hash\n";
    return 1;
  }
  std::cout << hash << "\n";
  return 0;
}

}  // namespace swarmkeeper::cli
