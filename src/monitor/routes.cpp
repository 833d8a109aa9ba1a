// SPDX-License-Identifier: Apache-2.0
// routes.cpp — the HTTP routes (HTTP thread): /metrics, the JSON API, health and readiness,
// and the dashboard's files (built in, or --assets-dir).
#include "monitor/monitor_impl.hpp"

#include "monitor/web_assets.hpp"

namespace swarmkeeper::monitor {

HttpResponse Monitor::Impl::route(const std::string& target) {
  const auto q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  const auto t0 = Clock::now();
  sched::Lock lock(mu);
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
    return {
        200, "application/json",
        dump(history_json_locked(series, std::chrono::milliseconds(static_cast<std::int64_t>(w * 1000))))};
  }
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/favicon.ico") return {204, "image/x-icon", ""};
  if (path == "/readyz") {
    auto it = collected.find("redis");
    if (version == 0 || it == collected.end())
      return {503, "text/plain; charset=utf-8", "not ready: no Redis data yet\n"};
    // That Redis is unreachable, not where it is: /readyz answers anyone who can probe.
    if (!it->second.error.empty())
      return {503, "text/plain; charset=utf-8", "not ready: Redis unreachable\n"};
    return {200, "text/plain; charset=utf-8", "ready\n"};
  }
  return static_asset(path);
}

std::string asset_type(std::string_view path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
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
  if (const WebAsset* a = find_web_asset(p))
    return {200, a->type, std::string(reinterpret_cast<const char*>(a->data), a->size)};
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

}  // namespace swarmkeeper::monitor
