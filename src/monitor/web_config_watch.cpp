// SPDX-License-Identifier: Apache-2.0
// web_config_watch.cpp — --web-config in force: whether it may serve where it listens, whether a
// reload would weaken it, and reloading it when its files change (once they stay).
#include "monitor/monitor_impl.hpp"

namespace swarmkeeper::monitor {

Result<Monitor::Impl::Exposure> Monitor::Impl::check_exposure(const WebConfig& web) const {
  const bool client_certs = web.tls && web.tls->client_auth == ClientAuth::require_and_verify;
  if (!loopback_listener && !web.tls && web.users.empty() && !opts.insecure_listen)
    return Error(
        Errc::invalid_argument,
        "--listen " + opts.listen +
            " serves beyond loopback without TLS or authentication: anyone who reaches the port reads queue "
            "names, the Redis version and the alerts. Give --web-config a file with tls_server_config and "
            "basic_auth_users (docs/monitor.md), listen on 127.0.0.1, or accept the exposure with "
            "--insecure-listen");
  Exposure e;
  e.insecure = !loopback_listener && (!web.tls || (web.users.empty() && !client_certs));
  if (e.insecure)
    e.warning = std::string("the dashboard listens on ") + opts.listen +
                (web.tls             ? " without authentication (no basic_auth_users)"
                 : web.users.empty() ? " without TLS or authentication (--insecure-listen)"
                                     : " without TLS: passwords cross the network in clear text");
  return e;
}

// A change made live may add or change protection, never take it away: a truncated or
// emptied file must not open the port. Turning TLS, users, client certificates, the
// SAN check or a header off, or lowering min_version, takes a restart.
Result<void> Monitor::Impl::no_weaker(const WebConfig& next, const WebConfig& in_force) {
  auto refuse = [&](const std::string& what) {
    return Error(Errc::invalid_argument, "--web-config " + next.file + ": would " + what +
                                             " while serving; restart serve to do that");
  };
  const auto verifies = [](const WebConfig& w) {
    return w.tls && w.tls->client_auth == ClientAuth::require_and_verify;
  };
  if (in_force.tls && !next.tls) return refuse("turn TLS off");
  if (!in_force.users.empty() && next.users.empty())
    return refuse("turn authentication (basic_auth_users) off");
  if (verifies(in_force) && !verifies(next)) return refuse("turn client certificate verification off");
  if (in_force.tls && next.tls) {
    if (!in_force.tls->client_allowed_sans.empty() && next.tls->client_allowed_sans.empty())
      return refuse("turn the client_allowed_sans check off");
    if (next.tls->min_version < in_force.tls->min_version)
      return refuse("lower min_version from TLS1" + std::to_string(in_force.tls->min_version % 10) +
                    " to TLS1" + std::to_string(next.tls->min_version % 10));
  }
  for (const auto& header : in_force.headers) {
    const std::string& name = header.first;  // (Clang 14 cannot capture a structured binding)
    if (std::none_of(next.headers.begin(), next.headers.end(),
                     [&](const auto& h) { return h.first == name; }))
      return refuse("drop the " + name + " header");
  }
  return {};
}

std::vector<std::pair<std::string, FileStamp>> Monitor::Impl::stamps(const std::vector<std::string>& files) {
  std::vector<std::pair<std::string, FileStamp>> out;
  for (const auto& f : files) out.emplace_back(f, stamp_of(f));
  return out;
}

// Reads the web config, each file stamped before it is read (the certificates, key and
// CA are read after this, when the TLS context is built): a change made while reading
// is seen at the next look. A file that does not parse leaves the files of the config
// in force watched.
Result<WebConfig> Monitor::Impl::read_web_config(std::vector<std::pair<std::string, FileStamp>>& seen) const {
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
Result<void> Monitor::Impl::reload_web_locked() {
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
    say("error", ok.error().message() + "; keeping the web config in force",
        {{"file", opts.web_config_file}});
    return ok;
  }
  web_reload_ok_at_s = static_cast<double>(wall_ms()) / 1000;
  say_unused_headers(*web);
  say("info",
      "web config " + opts.web_config_file + " in force: " + (web->tls ? "TLS" : "plain HTTP") + ", " +
          std::to_string(web->users.size()) + " user(s)",
      {{"file", opts.web_config_file}, {"tls", web->tls.has_value()}, {"users", web->users.size()}});
  return ok;
}

// Headers the file sets that serve sends itself, strictly: said, not used.
void Monitor::Impl::say_unused_headers(const WebConfig& web) const {
  for (const auto& [name, value] : web.headers)
    if (serve_sets_header(name))
      say("warn",
          "--web-config " + web.file + ": http_server_config.headers." + name +
              ": serve sends its own, stricter value; this one is not used",
          {{"header", name}});
}

// Every second: reload when the file or a certificate, key or CA it names changed and
// has stayed as it is for one look (a file being written is not read half-way).
void Monitor::Impl::watch_web_config() {
  sched::Lock lock(web_mu);
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

}  // namespace swarmkeeper::monitor
