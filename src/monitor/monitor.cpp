// SPDX-License-Identifier: Apache-2.0
// monitor.cpp — the Monitor of monitor.hpp: start() (options checked, Redis opened, the
// HTTP server and the jobs started), stop(), and the public methods. The pieces it starts
// are listed in monitor_impl.hpp.
#include "monitor/monitor_impl.hpp"

namespace swarmkeeper::monitor {

Monitor::Monitor(MonitorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Monitor::~Monitor() {
  stop();
}

Result<void> Monitor::start() {
  Impl& m = *impl_;
  if (!(m.opts.refresh.count() >= 100))
    return Error(Errc::invalid_argument, "--refresh must be at least 100ms");
  if (!(m.opts.history >= m.opts.refresh * 2))
    return Error(Errc::invalid_argument, "--history must be at least two refreshes");
  if (m.opts.history / m.opts.refresh > 100000)
    return Error(Errc::invalid_argument,
                 "--history / --refresh is more than 100,000 points per series; lengthen --refresh");
  if (m.opts.census_interval.count() < 0)
    return Error(Errc::invalid_argument, "the census interval must not be negative");
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
    sched::Lock lock(m.web_mu);  // (no job runs yet; held for the analysis' sake)
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
  {
    sched::Lock lock(m.web_mu);
    m.web_in_force = web;
  }
  for (const auto& p : m.opts.web_public_paths)
    if (p != "/healthz" && p != "/readyz")
      return Error(Errc::invalid_argument, "--web-public " + p + ": only /healthz and /readyz may be public");
  // Host names as DNS has them (letters, digits, '-', dots between labels); no wildcard:
  // names are matched whole.
  for (const auto& name : m.opts.web_hostnames)
    if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
        name.front() == '-' || name.find("..") != std::string::npos ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            std::string::npos)
      return Error(Errc::invalid_argument,
                   "--web-hostname '" + name +
                       "': expected a host name such as swarm.example.com (matched whole; no wildcards)");
  if (m.opts.webhook) {
    auto target = parse_webhook_url(*m.opts.webhook);
    if (!target) return target.error();
    m.webhook_target = std::move(*target);
    if (!(m.opts.webhook_resend >= std::chrono::seconds(1)))
      return Error(Errc::invalid_argument, "the webhook resend interval must be at least 1s");
    if (!m.opts.webhook_auth_file.empty()) {
      if (!m.webhook_target.authorization.empty())
        return Error(Errc::invalid_argument,
                     "--webhook has user:password in its URL and --webhook-auth-file is given: "
                     "keep the credentials in one place (the file, for a URL that shows in ps)");
      std::ifstream f(m.opts.webhook_auth_file);
      std::stringstream text;
      if (f) text << f.rdbuf();
      if (!f)
        return Error(Errc::invalid_argument,
                     "--webhook-auth-file " + m.opts.webhook_auth_file + ": cannot read it");
      auto auth = authorization_from_text(text.str());
      if (!auth)
        return Error(Errc::invalid_argument,
                     "--webhook-auth-file " + m.opts.webhook_auth_file + ": " + auth.error().message());
      m.webhook_target.authorization = std::move(*auth);
    }
    if (!m.opts.webhook_ca_file.empty()) {
      if (!std::ifstream(m.opts.webhook_ca_file))
        return Error(Errc::invalid_argument, "--webhook-ca " + m.opts.webhook_ca_file + ": cannot read it");
      m.webhook_target.ca_file = m.opts.webhook_ca_file;
    }
    const std::string path = boost::urls::parse_uri(m.webhook_target.url)->path();
    m.webhook_alertmanager = m.opts.webhook_format == MonitorOptions::WebhookFormat::alertmanager ||
                             (m.opts.webhook_format == MonitorOptions::WebhookFormat::automatic &&
                              path.ends_with("/api/v2/alerts"));
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
    if (e.code() == Errc::auth_failed || e.code() == Errc::invalid_argument ||
        e.code() == Errc::no_permission)
      return e;
    // Unreachable (not refused): serve anyway, with swarmkeeper_redis_up 0 and /readyz
    // 503, and open it when it answers; ready by itself then.
    m.say("error", "Redis unreachable at start: " + e.message() + "; serving and retrying",
          {{"error", e.message()}});
    m.redis_down_since_ms = wall_ms();  // (the redis collector then logs only the recovery)
  }
  HttpRoutes routes;
  routes.get = [&m](const std::string& target) { return m.route(target); };
  routes.version = [&m] {
    sched::Lock lock(m.mu);
    return m.version;
  };
  routes.event = [&m] {
    sched::Lock lock(m.mu);
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
  m.aggregator =
      std::make_unique<sched::Scheduler>(sched::SchedulerOptions{.threads = 1});  // never behind a collector
  const auto refresh = m.opts.refresh;
  const auto probe_every = std::max(refresh / 10, std::chrono::milliseconds(10));
  m.probe_every = probe_every;
  m.collect_redis();  // a first snapshot before anyone asks
  m.collect_cleanup();
  m.aggregate();
  m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.probe(); }, {.period = probe_every}));
  m.jobs.push_back(
      m.sched->submit([&m](std::stop_token) { m.collect_redis(); }, {.delay = refresh, .period = refresh}));
  m.jobs.push_back(
      m.sched->submit([&m](std::stop_token) { m.collect_cleanup(); }, {.delay = refresh, .period = refresh}));
  m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.collect_clients(); }, {.period = refresh}));
  m.jobs.push_back(m.sched->submit([&m](std::stop_token st) { m.census_slice(st); },
                                   {.period = std::chrono::milliseconds(10)}));
  m.jobs.push_back(
      m.aggregator->submit([&m](std::stop_token) { m.aggregate(); }, {.delay = refresh, .period = refresh}));
  if (m.opts.cleanup_every)
    m.jobs.push_back(m.sched->submit([&m](std::stop_token st) { m.run_cleanup_now(st); },
                                     {.period = *m.opts.cleanup_every}));
  if (!m.opts.web_config_file.empty())
    m.jobs.push_back(m.sched->submit([&m](std::stop_token) { m.watch_web_config(); },
                                     {.delay = std::chrono::seconds(1), .period = std::chrono::seconds(1)}));
  if (m.opts.webhook) {
    // The dashboard's address for Alertmanager's links: a configured name, or the listen
    // address unless it is a wildcard (then none: no made-up host).
    std::string host = m.opts.web_hostnames.empty() ? m.opts.listen.substr(0, m.opts.listen.rfind(':'))
                                                    : m.opts.web_hostnames[0];
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    if (host != "0.0.0.0" && host != "[::]" && !host.empty())
      m.generator_url =
          (m.http->tls() ? "https://" : "http://") + host + ":" + std::to_string(m.http->port()) + "/";
    m.notifier = std::thread([&m] { m.notifier_loop(); });
  }
  return {};
}

void Monitor::stop() {
  Impl& m = *impl_;
  m.stop_flag = true;
  if (m.http) m.http->stop();
  for (auto& j : m.jobs) j.cancel();
  if (m.redis) m.redis->close();  // a collector waiting on a stalled server returns now
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

std::uint16_t Monitor::port() const {
  return impl_->http ? impl_->http->port() : 0;
}
bool Monitor::serves_tls() const {
  return impl_->http && impl_->http->tls();
}

Result<void> Monitor::reload_web_config() {
  Impl& m = *impl_;
  if (m.opts.web_config_file.empty() || !m.http) return {};
  sched::Lock lock(m.web_mu);
  return m.reload_web_locked();
}

std::string Monitor::metrics_text() const {
  sched::Lock lock(impl_->mu);
  return impl_->metrics_text;
}
std::string Monitor::snapshot_json() const {
  sched::Lock lock(impl_->mu);
  return dump(impl_->snapshot);
}
std::string Monitor::alerts_json() const {
  sched::Lock lock(impl_->mu);
  return dump(impl_->alerts_locked());
}
std::string Monitor::history_json(const std::string& series, std::chrono::milliseconds window) const {
  sched::Lock lock(impl_->mu);
  return dump(impl_->history_json_locked(series, window));
}

}  // namespace swarmkeeper::monitor
