// SPDX-License-Identifier: Apache-2.0
// webhook_client.cpp — the webhook side of http_server.hpp: URLs and credentials, and
// one POST (plain or TLS, verified) that fits in a timeout and stops when told to.
#include "monitor/http_server.hpp"
#include "monitor/web_auth.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <optional>
#include <thread>

namespace swarmkeeper::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string redact_url(const std::string& url) {
  // Everything from "://" to the last '@' may be a password: a password holding '/', '?'
  // or '#' unescaped moves the URL's own idea of where userinfo ends, so that is not
  // asked. (An '@' in a query is cut too: a message shows less, never a password.)
  const auto scheme = url.find("://");
  const auto at = url.rfind('@');
  if (at == std::string::npos) return url;
  return (scheme == std::string::npos || scheme > at ? std::string() : url.substr(0, scheme + 3)) +
         url.substr(at + 1);
}

Result<std::string> authorization_from_text(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) return Error(Errc::invalid_argument, "the webhook credentials are empty");
  if (t.find_first_of("\r\n") != std::string::npos)
    return Error(Errc::invalid_argument,
                 "the webhook credentials must be one line: \"user:password\" or \"Bearer TOKEN\"");
  const auto space = t.find(' ');
  if (space != std::string::npos && space > 0 && t.find(':') > space) return t;  // "Scheme credentials"
  if (t.find(':') == std::string::npos)
    return Error(Errc::invalid_argument,
                 "the webhook credentials must be \"user:password\" or \"Bearer TOKEN\"");
  return "Basic " + base64_encode(t);
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
    const std::string authority =
        url.substr(scheme + 3, end == std::string::npos ? std::string::npos : end - scheme - 3);
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
    t.authorization = "Basic " + base64_encode(user + ":" + password);
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
    x.failure = Error(ec == beast::error::timeout ? Errc::timeout : Errc::connection_refused,
                      "webhook " + x.where + ": " + ec.message());
  } else {
    co_await write_and_read(stream, x);
  }
  x.done = true;
}

asio::awaitable<void> post_tls(beast::ssl_stream<beast::tcp_stream>& stream, std::vector<tcp::endpoint> eps,
                               Exchange& x) {
  auto [ec, ep] = co_await beast::get_lowest_layer(stream).async_connect(eps, nothrow);
  if (ec) {
    x.failure = Error(ec == beast::error::timeout ? Errc::timeout : Errc::connection_refused,
                      "webhook " + x.where + ": " + ec.message());
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
                                          std::chrono::steady_clock::time_point deadline,
                                          const std::atomic<bool>& cancel) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (!ec)
    return std::vector<tcp::endpoint>{tcp::endpoint(addr, static_cast<std::uint16_t>(std::stoi(port)))};
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

Result<int> http_post_json(const WebhookTarget& target, const std::string& body,
                           std::chrono::milliseconds timeout, const std::atomic<bool>& cancel) {
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
    if (target.ca_file.empty())
      ctx->set_default_verify_paths(ec);
    else
      ctx->load_verify_file(target.ca_file, ec);
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
