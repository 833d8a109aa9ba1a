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
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <future>
#include <optional>
#include <list>
#include <thread>
#include <tuple>

namespace swarmkeeper::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// A port as text: 1-5 digits, at most 65535 (0 included: the caller says if it may be).
bool is_port(std::string_view text) {
  return !text.empty() && text.size() <= 5 && text.find_first_not_of("0123456789") == std::string_view::npos &&
         std::stoul(std::string(text)) <= 65535;
}

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
  if (!is_port(port_s)) return bad();
  const int port = std::stoi(port_s);
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
// The same, for the answers written by hand (refusals, the event stream's head).
const std::string kSecurityHeaders = std::string("X-Content-Type-Options: nosniff\r\nContent-Security-Policy: ") +
                                     kContentSecurityPolicy +
                                     "\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n";
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
    if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return false;
    boost::system::error_code ec;
    asio::ip::make_address_v6(std::string(name.substr(1, close - 1)), ec);
    return !ec;
  }
  if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    if (!is_port(name.substr(colon + 1))) return false;
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
  const auto a = ep->address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
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
        + std::string(kSecurityHeaders) + "\r\n";
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
                             "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nServer: swarmkeeper\r\n"
                             "Cache-Control: no-store\r\n" + kSecurityHeaders +
                             "Content-Length: " +
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
      if (req.count(http::field::host) > 1) {  // RFC 9112: more than one Host is a bad request
        co_await refuse(stream, 400, "Bad Request: more than one Host header");
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

std::string redact_url(const std::string& url) {
  // Everything from "://" to the last '@' may be a password: a password holding '/', '?'
  // or '#' unescaped moves the URL's own idea of where userinfo ends, so that is not
  // asked. (An '@' in a query is cut too: a message shows less, never a password.)
  const auto scheme = url.find("://");
  const auto at = url.rfind('@');
  if (at == std::string::npos) return url;
  return (scheme == std::string::npos || scheme > at ? std::string() : url.substr(0, scheme + 3)) + url.substr(at + 1);
}

namespace {

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

}  // namespace

Result<std::string> authorization_from_text(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) return Error(Errc::invalid_argument, "the webhook credentials are empty");
  if (t.find_first_of("\r\n") != std::string::npos)
    return Error(Errc::invalid_argument, "the webhook credentials must be one line: \"user:password\" or \"Bearer TOKEN\"");
  const auto space = t.find(' ');
  if (space != std::string::npos && space > 0 && t.find(':') > space) return t;  // "Scheme credentials"
  if (t.find(':') == std::string::npos)
    return Error(Errc::invalid_argument, "the webhook credentials must be \"user:password\" or \"Bearer TOKEN\"");
  return "Basic " + base64(t);
}

Result<WebhookTarget> parse_webhook_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Error(Errc::invalid_argument,
                 "--webhook " + redact_url(url) + ": " + why + " (e.g. http://127.0.0.1:9093/api/v2/alerts)");
  };
  // More than one '@' before the path: a user name or password holding '@' unescaped;
  // taking the URL as it parses would send half a password and log the other half.
  if (const auto scheme = url.find("://"); scheme != std::string::npos) {
    const auto end = url.find_first_of("/?#", scheme + 3);
    const std::string authority = url.substr(scheme + 3, end == std::string::npos ? std::string::npos : end - scheme - 3);
    if (std::count(authority.begin(), authority.end(), '@') > 1)
      return bad("more than one '@': percent-encode '@' in a user name or password as %40");
  }
  auto u = boost::urls::parse_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https"))
    return bad("expected an http:// or https:// URL (percent-encode '#', '?', '/' and '@' in a password)");
  if (u->host().empty()) return bad("no host");
  const std::string port(u->has_port() ? u->port() : "80");
  if (!is_port(port) || std::stoul(port) == 0) return bad("the port must be 1-65535");
  if (u->has_fragment()) return bad("a URL to POST to has no #fragment");
  WebhookTarget t;
  if (u->has_userinfo()) {
    const std::string user = u->user(), password = u->password();
    if (user.empty()) return bad("userinfo without a user name");
    t.authorization = "Basic " + base64(user + ":" + password);
  }
  boost::urls::url plain(*u);
  plain.remove_userinfo();
  t.url = std::string(plain.buffer());
  return t;
}

namespace {

struct Exchange {
  http::request<http::string_body> request;
  std::string where;  // the URL without userinfo, for messages
  int status = 0;
  Error failure;
  bool done = false;
};

Errc transport_code(const boost::system::error_code& ec) {
  return ec == beast::error::timeout ? Errc::timeout : Errc::io_error;
}

template <class Stream>
asio::awaitable<void> write_and_read(Stream& stream, Exchange& x) {
  auto [we, wn] = co_await http::async_write(stream, x.request, nothrow);
  if (we) {
    x.failure = Error(transport_code(we), "webhook " + x.where + ": " + we.message());
    co_return;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // the answer is read for its status only
  auto [re, rn] = co_await http::async_read(stream, buf, parser, nothrow);
  if (re && re != http::error::body_limit) {
    x.failure = Error(transport_code(re), "webhook " + x.where + ": " + re.message());
    co_return;
  }
  x.status = static_cast<int>(parser.get().result_int());
}

asio::awaitable<void> post_plain(beast::tcp_stream& stream, std::vector<tcp::endpoint> eps, Exchange& x) {
  auto [ec, ep] = co_await stream.async_connect(eps, nothrow);
  if (ec) {
    x.failure = Error(ec == beast::error::timeout ? Errc::timeout : Errc::connection_refused, "webhook " + x.where + ": " + ec.message());
  } else {
    co_await write_and_read(stream, x);
  }
  x.done = true;
}

asio::awaitable<void> post_tls(beast::ssl_stream<beast::tcp_stream>& stream, std::vector<tcp::endpoint> eps, Exchange& x) {
  auto [ec, ep] = co_await beast::get_lowest_layer(stream).async_connect(eps, nothrow);
  if (ec) {
    x.failure = Error(ec == beast::error::timeout ? Errc::timeout : Errc::connection_refused, "webhook " + x.where + ": " + ec.message());
    x.done = true;
    co_return;
  }
  auto [he] = co_await stream.async_handshake(ssl::stream_base::client, nothrow);
  if (he) {
    x.failure = Error(he == beast::error::timeout ? Errc::timeout : Errc::tls_error,
                      "webhook " + x.where + ": TLS handshake: " + he.message());
  } else {
    co_await write_and_read(stream, x);
  }
  x.done = true;
}

// Name lookup on a thread of its own: getaddrinfo cannot be cancelled, and a resolver
// that never answers must hold up neither the timeout nor a shutdown (the thread is left
// to finish alone; it owns what it touches).
Result<std::vector<tcp::endpoint>> lookup(const std::string& host, const std::string& port,
                                          std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& cancel) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(addr, static_cast<std::uint16_t>(std::stoi(port)))};
  using Found = Result<std::vector<tcp::endpoint>>;
  auto promise = std::make_shared<std::promise<Found>>();
  auto found = promise->get_future();
  std::thread([promise, host, port] {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code rec;
    auto results = resolver.resolve(host, port, rec);
    if (rec) {
      promise->set_value(Error(Errc::dns_failure, "webhook: cannot resolve " + host + ": " + rec.message()));
      return;
    }
    std::vector<tcp::endpoint> eps;
    for (const auto& r : results) eps.push_back(r.endpoint());
    promise->set_value(std::move(eps));
  }).detach();
  while (found.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
    if (cancel) return Error(Errc::cancelled, "webhook: stopping");
    if (std::chrono::steady_clock::now() > deadline)
      return Error(Errc::timeout, "webhook: resolving " + host + " took longer than the timeout");
  }
  return found.get();
}

}  // namespace

Result<int> http_post_json(const WebhookTarget& target, const std::string& body, std::chrono::milliseconds timeout,
                           const std::atomic<bool>& cancel) {
  auto u = boost::urls::parse_uri(target.url);
  if (!u) return Error(Errc::invalid_argument, "webhook " + redact_url(target.url) + ": not a URL");
  const bool tls = u->scheme() == "https";
  const std::string host(u->host_name().empty() ? u->host_address() : u->host_name());
  const std::string port = u->has_port() ? std::string(u->port()) : tls ? "443" : "80";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto eps = lookup(host, port, deadline, cancel);
  if (!eps) return eps.error();

  Exchange x;
  x.where = target.url;  // parse_webhook_url took any userinfo out
  x.request = {http::verb::post, u->encoded_target().empty() ? "/" : std::string(u->encoded_target()), 11};
  const std::string host_field = u->host_type() == boost::urls::host_type::ipv6 ? "[" + host + "]" : host;
  x.request.set(http::field::host, u->has_port() ? host_field + ":" + port : host_field);
  x.request.set(http::field::content_type, "application/json");
  x.request.set(http::field::user_agent, "swarmkeeper");
  if (!target.authorization.empty()) x.request.set(http::field::authorization, target.authorization);
  x.request.body() = body;
  x.request.prepare_payload();

  asio::io_context io;
  std::optional<ssl::context> ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  if (tls) {
    ctx.emplace(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (target.ca_file.empty()) ctx->set_default_verify_paths(ec);
    else ctx->load_verify_file(target.ca_file, ec);
    if (ec) return Error(Errc::tls_error, "webhook: cannot load the CA certificates: " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer);
    secure.emplace(io, *ctx);
    secure->set_verify_callback(ssl::host_name_verification(host));
    boost::system::error_code not_ip;
    asio::ip::make_address(host, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(secure->native_handle(), host.c_str());  // SNI for names
    beast::get_lowest_layer(*secure).expires_at(deadline);
    asio::co_spawn(io, post_tls(*secure, std::move(*eps), x), asio::detached);
  } else {
    plain.emplace(io);
    plain->expires_at(deadline);
    asio::co_spawn(io, post_plain(*plain, std::move(*eps), x), asio::detached);
  }
  // Run in short slices so that a stop is seen within ~50 ms. On a stop the socket is
  // closed and the exchange runs to its end (operation_aborted) before anything it
  // refers to goes away.
  while (!x.done) {
    io.run_for(std::chrono::milliseconds(50));
    if (cancel && !x.done) {
      boost::system::error_code ignored;
      if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
      if (plain) plain->socket().close(ignored);
      io.restart();
      io.run_for(std::chrono::seconds(1));
      return Error(Errc::cancelled, "webhook: stopping");
    }
  }
  if (x.failure) return x.failure;
  return x.status;
}

}  // namespace swarmkeeper::monitor
