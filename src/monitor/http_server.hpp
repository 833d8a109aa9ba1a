// SPDX-License-Identifier: Apache-2.0
// http_server.hpp — the monitor's HTTP server and webhook client (Beast, compiled in
// http_server.cpp only). The server knows no monitor: it asks `HttpRoutes` for each
// response, and streams Server-Sent Events from /events.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/web_config.hpp"
#include "swarmkeeper/error.hpp"

namespace swarmkeeper::monitor {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpRoutes {
  /// The response to GET `target` (path and query). Called on the server's thread.
  std::function<HttpResponse(const std::string& target)> get;
  /// A number that changes when a new event is ready, and the event's data (one line).
  std::function<std::uint64_t()> version;
  std::function<std::string()> event;
};

struct HttpServerOptions {
  std::string listen = "127.0.0.1:9840";  ///< host:port; port 0: any free port
  /// Names a request's Host may carry besides IP literals and localhost (--web-hostname).
  std::vector<std::string> hostnames;
  /// TLS and users (--web-config); the default is plain HTTP with no authentication.
  WebConfig web;
  /// Paths answered without credentials when users are configured (--web-public), e.g.
  /// "/healthz" for an orchestrator's probe. Matched whole, without the query.
  std::vector<std::string> public_paths;
};

/// A port as text: 1-5 digits, at most 65535 (0 included: the caller says if it may be).
bool is_port(std::string_view text);

/// Whether a request whose Host header is `host` is answered: an IP literal (v4, or v6 in
/// brackets), "localhost", or one of `names` (any case), each with or without a port.
/// DNS rebinding reaches a server only under a name its attacker controls: unknown
/// names are refused (421).
bool host_allowed(std::string_view host, const std::vector<std::string>& names);

/// Whether a --listen address binds loopback only (127.0.0.0/8, ::1, localhost).
/// Fails with invalid_argument for an address that is not host:port.
Result<bool> listen_is_loopback(const std::string& listen);

class HttpServer {
 public:
  /// Binds options.listen and serves on a thread of its own. Fails with invalid_argument
  /// (bad address, or a web config whose certificate or key does not load) or io_error
  /// (cannot bind, e.g. port in use).
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, HttpRoutes routes);
  ~HttpServer();
  /// Puts a new web configuration in force: TLS for connections accepted from now on,
  /// users and headers for every request from now on (keep-alive ones included). On
  /// failure (invalid_argument naming the key) the one in force stays. Any thread.
  Result<void> reconfigure(const WebConfig& web);
  std::uint16_t port() const noexcept;
  /// Whether new connections speak TLS, and whether requests need credentials.
  bool tls() const;
  bool authenticates() const;
  /// Requests whose credentials were wrong or malformed (a missing one is not counted:
  /// a browser always asks once without), and TLS handshakes that failed.
  std::uint64_t auth_failures() const noexcept;
  std::uint64_t tls_failures() const noexcept;
  /// Closes the listener and every connection; joins the thread.
  void stop();
  /// Connections open right now (SSE clients included).
  std::size_t connections() const noexcept;
  /// Connections closed at accept (every slot busy), and idle ones closed to make room.
  std::uint64_t refused() const noexcept;
  std::uint64_t evicted() const noexcept;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Where alert notifications go.
struct WebhookTarget {
  std::string url;            ///< http:// or https://, without userinfo
  std::string authorization;  ///< the Authorization header's value, or empty
  std::string ca_file;        ///< https: trust these CAs (PEM) instead of the system's
};

/// Checks a webhook URL: http(s)://[user:password@]host[:port][/path]. Userinfo leaves
/// the URL and becomes a Basic Authorization. Fails with invalid_argument naming the
/// URL without its password.
Result<WebhookTarget> parse_webhook_url(const std::string& url);
/// The URL with any userinfo taken out, for messages and logs.
std::string redact_url(const std::string& url);
/// An Authorization value from a file's text: "Bearer ...", "Basic ..." (any scheme
/// word and its credentials) as they are, or "user:password" as Basic. One line; fails
/// with invalid_argument for an empty or multi-line text.
Result<std::string> authorization_from_text(const std::string& text);

/// POSTs a JSON body; the status code (a redirect is not followed). Name lookup,
/// connect, TLS handshake (the peer verified against the host name), write and read
/// all fit within `timeout`; when `cancel` turns true, returns Errc::cancelled within
/// ~50 ms. Fails with dns_failure, connection_refused, timeout, tls_error or io_error.
Result<int> http_post_json(const WebhookTarget& target, const std::string& body,
                           std::chrono::milliseconds timeout, const std::atomic<bool>& cancel);

}  // namespace swarmkeeper::monitor
