// SPDX-License-Identifier: Apache-2.0
// http_server.hpp — the monitor's HTTP server and webhook client (Beast, compiled in
// http_server.cpp only). The server knows no monitor: it asks `HttpRoutes` for each
// response, and streams Server-Sent Events from /events.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
};

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
  /// (bad address) or io_error (cannot bind, e.g. port in use).
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, HttpRoutes routes);
  ~HttpServer();
  std::uint16_t port() const noexcept;
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

/// Checks an http:// URL (host, port 1-65535). Fails with invalid_argument naming it.
Result<void> check_http_url(const std::string& url);

/// POSTs a JSON body to an http:// URL; returns the status code. Fails with
/// invalid_argument (bad URL, https), connection errors, or timeout.
Result<int> http_post_json(const std::string& url, const std::string& body, std::chrono::milliseconds timeout);

}  // namespace swarmkeeper::monitor
