// SPDX-License-Identifier: Apache-2.0
// http_server.cpp — the Beast side of http_server.hpp: accept, read one request at a
// time per connection (keep-alive), answer from the routes; /events holds the
// connection and writes an SSE event each time the version changes.
#include "monitor/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <atomic>
#include <cctype>
#include <cstring>
#include <list>
#include <thread>
#include <tuple>

namespace swarmkeeper::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// host:port → endpoint; [v6]:port accepted.
Result<tcp::endpoint> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  auto bad = [&] {
    return Error(Errc::invalid_argument, "--listen " + listen + ": expected host:port, e.g. 127.0.0.1:9840");
  };
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_s = listen.substr(colon + 1);
  if (port_s.empty() || port_s.size() > 5 || port_s.find_first_not_of("0123456789") != std::string::npos) return bad();
  const int port = std::stoi(port_s);
  if (port > 65535) return bad();
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error(Errc::invalid_argument, "--listen " + listen + ": '" + host + "' is not an IP address");
  return tcp::endpoint(addr, static_cast<std::uint16_t>(port));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Headers on every answer: the dashboard loads its script and styles from this origin
// only, runs no inline script, is framed by no one, and sends no Referer elsewhere.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
void secure_headers(http::response<http::string_body>& res) {
  res.set(http::field::server, "swarmkeeper");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
}

}  // namespace

bool host_allowed(std::string_view host, const std::vector<std::string>& names) {
  if (host.empty()) return false;
  std::string_view name = host;
  if (name.front() == '[') {  // [v6] or [v6]:port
    const auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = name.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1 ||
                          rest.substr(1).find_first_not_of("0123456789") != std::string_view::npos))
      return false;
    boost::system::error_code ec;
    asio::ip::make_address_v6(std::string(name.substr(1, close - 1)), ec);
    return !ec;
  }
  if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = name.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    name = name.substr(0, colon);
  }
  if (name.empty()) return false;
  boost::system::error_code ec;
  asio::ip::make_address_v4(std::string(name), ec);
  if (!ec) return true;
  const std::string n = lower(name);
  if (n == "localhost") return true;
  for (const auto& allowed : names)
    if (lower(allowed) == n) return true;
  return false;
}

Result<bool> listen_is_loopback(const std::string& listen) {
  auto ep = parse_listen(listen);
  if (!ep) return ep.error();
  return ep->address().is_loopback();
}

struct HttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  HttpRoutes routes;
  std::vector<std::string> hostnames;
  std::thread thread;
  static constexpr std::size_t kMaxConnections = 512;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<bool> stopping{false};

  // Connections waiting for a request, oldest first: at the cap the oldest is closed to
  // make room, so idle or half-sent connections (slowloris) can never lock others out.
  struct Waiting {
    tcp::socket* socket;
    bool* evicted;  // set when the accept loop closes it to make room
  };
  std::list<Waiting> idle;
  std::size_t streams = 0;  // /events clients (io thread only)
  static constexpr std::size_t kMaxStreams = 256;

  asio::awaitable<void> accept_loop() {
    while (!stopping) {
      auto [ec, sock] = co_await acceptor.async_accept(nothrow);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      if (open.load() >= kMaxConnections) {
        if (idle.empty()) {  // every slot busy answering or streaming (streams are capped below it)
          boost::system::error_code ignored;
          sock.close(ignored);
          ++refused;
          continue;
        }
        boost::system::error_code ignored;
        *idle.front().evicted = true;
        idle.front().socket->close(ignored);  // its read fails and its session ends
        idle.pop_front();
        ++evicted;
      }
      asio::co_spawn(io, session(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> events(beast::tcp_stream& stream) {
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n"
        "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\r\n";
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), nothrow);
    if (ec) co_return;
    asio::steady_timer tick(io);
    std::uint64_t seen = ~std::uint64_t{0};
    while (!stopping) {
      const std::uint64_t v = routes.version();
      std::string msg;
      if (v != seen) {
        seen = v;
        std::string data;
        try {
          data = routes.event();
        } catch (const std::exception& e) {
          data = R"({"error":"the snapshot could not be serialised"})";
        }
        msg = "event: snapshot\ndata: " + data + "\n\n";
      }
      if (!msg.empty()) {
        stream.expires_after(std::chrono::seconds(10));  // a client that does not read is dropped
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(msg), nothrow);
        if (wec) co_return;
      }
      tick.expires_after(std::chrono::milliseconds(200));
      co_await tick.async_wait(nothrow);
    }
  }

  // A canned reply to a request that could not be parsed; the connection then closes.
  static asio::awaitable<void> refuse(beast::tcp_stream& stream, int status, const char* reason) {
    const std::string text = std::string("HTTP/1.1 ") + std::to_string(status) + " " + reason +
                             "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: " +
                             std::to_string(std::strlen(reason) + 1) + "\r\n\r\n" + reason + "\n";
    stream.expires_after(std::chrono::seconds(5));
    co_await asio::async_write(stream, asio::buffer(text), nothrow);
  }

  asio::awaitable<void> session(tcp::socket sock) {
    ++open;
    struct Count {  // the slot is given back however the session ends
      std::atomic<std::size_t>& n;
      ~Count() { --n; }
    } count{open};
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(64 * 1024);
      stream.expires_after(std::chrono::seconds(15));
      bool evicted_here = false;
      auto at = idle.insert(idle.end(), Waiting{&stream.socket(), &evicted_here});
      auto [ec, n] = co_await http::async_read(stream, buf, parser, nothrow);
      if (!evicted_here) idle.erase(at);  // (an evicted one was taken off the list already)
      if (ec) {
        if (ec == http::error::header_limit) co_await refuse(stream, 431, "Request Header Fields Too Large");
        else if (ec == http::error::body_limit) co_await refuse(stream, 413, "Payload Too Large");
        else if (ec.category() == make_error_code(http::error::end_of_stream).category() && ec != http::error::end_of_stream &&
                 ec != http::error::partial_message)
          co_await refuse(stream, 400, "Bad Request");
        break;
      }
      auto& req = parser.get();
      const std::string target(req.target());
      // The Host header names this server, or the request is not for us (DNS rebinding).
      const auto host = req.find(http::field::host);
      if (host == req.end() || host->value().empty()) {
        co_await refuse(stream, 400, "Bad Request: no Host header");
        break;
      }
      if (!host_allowed(host->value(), hostnames)) {
        co_await refuse(stream, 421, "Misdirected Request: unknown Host (serve --web-hostname NAME accepts a name)");
        break;
      }
      if (req.method() == http::verb::get && (target == "/events" || target.rfind("/events?", 0) == 0)) {
        if (streams >= kMaxStreams) {
          co_await refuse(stream, 503, "Too many event streams; try again later");
          break;
        }
        ++streams;
        stream.expires_never();
        co_await events(stream);
        --streams;
        break;
      }
      HttpResponse r;
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        r = {405, "text/plain; charset=utf-8", "only GET here\n"};
      } else {
        try {
          r = routes.get(target);
        } catch (const std::exception& e) {
          r = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
        }
      }
      http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
      secure_headers(res);
      res.set(http::field::content_type, r.content_type);
      if (r.status == 405) res.set(http::field::allow, "GET, HEAD");
      res.keep_alive(req.keep_alive());
      const bool head = req.method() == http::verb::head;
      // HEAD: the headers GET would send, Content-Length included, and no body.
      const std::size_t length = r.body.size();
      if (!head) res.body() = std::move(r.body);
      res.prepare_payload();
      if (head) res.content_length(length);
      http::response_serializer<http::string_body> out(res);
      if (head) out.split(true);
      boost::system::error_code wec;
      if (head) std::tie(wec, std::ignore) = co_await http::async_write_header(stream, out, nothrow);
      else std::tie(wec, std::ignore) = co_await http::async_write(stream, out, nothrow);
      if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, HttpRoutes routes) {
  const std::string& listen = options.listen;
  auto ep = parse_listen(listen);
  if (!ep) return ep.error();
  auto impl = std::make_unique<Impl>();
  impl->routes = std::move(routes);
  impl->hostnames = options.hostnames;
  boost::system::error_code ec;
  impl->acceptor.open(ep->protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(*ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error(Errc::io_error, "cannot listen on " + listen + ": " + ec.message() +
                                     (ec == asio::error::address_in_use ? " (choose another port with --listen)" : ""));
  asio::co_spawn(impl->io, impl->accept_loop(), asio::detached);
  impl->thread = std::thread([i = impl.get()] { i->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }
std::size_t HttpServer::connections() const noexcept { return impl_->open.load(); }
std::uint64_t HttpServer::refused() const noexcept { return impl_->refused.load(); }
std::uint64_t HttpServer::evicted() const noexcept { return impl_->evicted.load(); }

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [i = impl_.get()] {
    boost::system::error_code ignored;
    i->acceptor.close(ignored);
  });
  // Sessions end at their next step; the io_context is stopped so none lingers.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<void> check_http_url(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  auto bad = [&](const char* why) {
    return Error(Errc::invalid_argument, "--webhook " + url + ": " + why + " (e.g. http://127.0.0.1:9093/hook)");
  };
  if (!u || u->scheme() != "http") return bad("expected an http:// URL");
  if (u->host().empty()) return bad("no host");
  if (u->has_port() && (u->port().empty() || u->port_number() == 0)) return bad("the port must be 1-65535");
  return {};
}

Result<int> http_post_json(const std::string& url, const std::string& body, std::chrono::milliseconds timeout) {
  if (auto ok = check_http_url(url); !ok) return ok.error();
  auto u = boost::urls::parse_uri(url);
  asio::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  const std::string host(u->host());
  const std::string port = u->has_port() ? std::string(u->port()) : "80";
  boost::system::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec) return Error(Errc::dns_failure, "webhook " + host + ": " + ec.message());
  stream.expires_after(timeout);
  http::request<http::string_body> req{http::verb::post, u->encoded_target().empty() ? "/" : std::string(u->encoded_target()), 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "swarmkeeper");
  req.body() = body;
  req.prepare_payload();
  http::response<http::string_body> res;
  beast::flat_buffer buf;
  Error failure;
  stream.async_connect(results, [&](boost::system::error_code e, const tcp::endpoint&) {
    if (e) {
      failure = Error(Errc::connection_refused, "webhook " + url + ": " + e.message());
      return;
    }
    http::async_write(stream, req, [&](boost::system::error_code we, std::size_t) {
      if (we) {
        failure = Error(Errc::io_error, "webhook " + url + ": " + we.message());
        return;
      }
      http::async_read(stream, buf, res, [&](boost::system::error_code re, std::size_t) {
        if (re) failure = Error(re == beast::error::timeout ? Errc::timeout : Errc::io_error, "webhook " + url + ": " + re.message());
      });
    });
  });
  io.run();
  if (failure) return failure;
  return static_cast<int>(res.result_int());
}

}  // namespace swarmkeeper::monitor
