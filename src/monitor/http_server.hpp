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

class HttpServer {
 public:
  /// Binds host:port (port 0: any free port) and serves on a thread of its own. Fails
  /// with invalid_argument (bad address) or io_error (cannot bind, e.g. port in use).
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen, HttpRoutes routes);
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
