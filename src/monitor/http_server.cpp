// SPDX-License-Identifier: Apache-2.0
// http_server.cpp — the Beast side of http_server.hpp: accept, read one request at a
// time per connection (keep-alive), answer from the routes; /events holds the
// connection and writes an SSE event each time the version changes. With a web config,
// connections speak TLS (the context of the config in force when they were accepted)
// and requests carry basic-auth credentials (the users in force when they arrive).
#include "monitor/http_server.hpp"
#include "monitor/web_auth.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

namespace swarmkeeper::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

bool is_port(std::string_view text) {
  return !text.empty() && text.size() <= 5 &&
         text.find_first_not_of("0123456789") == std::string_view::npos &&
         std::stoul(std::string(text)) <= 65535;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
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
  std::string name = lower(host);
  if (name.size() > 1 && name.back() == '.')
    name.pop_back();  // "localhost." is the same name, fully qualified
  auto addr = asio::ip::make_address(name == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    return Error(Errc::invalid_argument, "--listen " + listen + ": '" + host + "' is not an IP address");
  return tcp::endpoint(addr, static_cast<std::uint16_t>(port));
}

// Headers on every answer: the dashboard loads its script and styles from this origin
// only, runs no inline script, is framed by no one, and sends no Referer elsewhere.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// The same, for the answers written by hand (refusals, the event stream's head).
const std::string kSecurityHeaders =
    std::string("X-Content-Type-Options: nosniff\r\nContent-Security-Policy: ") + kContentSecurityPolicy +
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
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

namespace {

int openssl_version(int v) {
  switch (v) {
    case 10: return TLS1_VERSION;
    case 11: return TLS1_1_VERSION;
    case 13: return TLS1_3_VERSION;
    default: return TLS1_2_VERSION;
  }
}

// The newest OpenSSL error, as text (and the queue emptied).
std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Accepts any client certificate (RequestClientCert, RequireAnyClientCert).
extern "C" int accept_any_certificate(int, X509_STORE_CTX*) {
  return 1;
}

// Whether client certificates are verified against client_ca_file.
bool verifies_client_certs(const TlsServerConfig& t) {
  return t.client_auth == ClientAuth::verify_if_given || t.client_auth == ClientAuth::require_and_verify;
}

// What a TLS context is made of: the settings and the bytes of the files they name (each
// a regular file of at most kMaxWebConfigBytes), as a SHA-256. Two configs with the same
// identity make the same context: a reload that changes neither keeps connections.
Result<std::string> tls_identity(const TlsServerConfig& t, const std::string& file) {
  std::string all;
  auto add = [&](std::string_view s) { all.append(std::to_string(s.size())).append(":").append(s); };
  const bool verifies = verifies_client_certs(t);
  for (const auto& [key, path] : {std::pair<const char*, const std::string*>{"cert_file", &t.cert_file},
                                  {"key_file", &t.key_file},
                                  {"client_ca_file", &t.client_ca_file}}) {
    add(*path);
    if (path->empty() || (!verifies && path == &t.client_ca_file)) continue;
    auto bytes = read_regular_file(*path, kMaxWebConfigBytes);
    if (!bytes)
      return Error(Errc::invalid_argument, "--web-config " + file + ": tls_server_config." + key + " " +
                                               *path + ": " + bytes.error().message());
    add(*bytes);
    OPENSSL_cleanse(bytes->data(), bytes->size());  // (the key's bytes)
  }
  add(std::to_string(static_cast<int>(t.client_auth)) + "/" + std::to_string(t.min_version) + "/" +
      std::to_string(t.max_version) + "/" + (t.prefer_server_cipher_suites ? "1" : "0"));
  for (const auto* list : {&t.cipher_suites, &t.curves, &t.client_allowed_sans}) {
    add(std::to_string(list->size()));
    for (const auto& s : *list) add(s);
  }
  std::string md = sha256(all);
  OPENSSL_cleanse(all.data(), all.size());
  return md;
}

// A server TLS context from tls_server_config; fails naming the key whose file is bad.
Result<std::shared_ptr<ssl::context>> make_tls_context(const TlsServerConfig& t, const std::string& file) {
  auto fail = [&](const std::string& key, const std::string& path, const std::string& what) {
    return Error(Errc::invalid_argument,
                 "--web-config " + file + ": tls_server_config." + key + " " + path + ": " + what);
  };
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, openssl_version(t.min_version));
  if (t.max_version) SSL_CTX_set_max_proto_version(c, openssl_version(t.max_version));
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                             (t.prefer_server_cipher_suites ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  // An encrypted key would make OpenSSL ask for its passphrase on the terminal, and a
  // service has none: no passphrase is given, so it fails with the message below.
  SSL_CTX_set_default_passwd_cb(c, [](char*, int, int, void*) { return 0; });
  if (SSL_CTX_use_certificate_chain_file(c, t.cert_file.c_str()) != 1)
    return fail("cert_file", t.cert_file, "cannot load a PEM certificate chain (" + openssl_error() + ")");
  if (SSL_CTX_use_PrivateKey_file(c, t.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return fail("key_file", t.key_file, "is not the key of cert_file " + t.cert_file);
    }
    return fail("key_file", t.key_file,
                "cannot load a PEM private key, unencrypted (" + openssl_error() +
                    "); 'openssl pkey -in KEY -out KEY2' writes one without its passphrase");
  }
  if (SSL_CTX_check_private_key(c) != 1)
    return fail("key_file", t.key_file, "is not the key of cert_file " + t.cert_file);
  if (!t.cipher_suites.empty()) {
    std::string list;
    for (const auto& suite : t.cipher_suites) list += (list.empty() ? "" : ":") + suite;
    if (SSL_CTX_set_cipher_list(c, list.c_str()) != 1)
      return fail("cipher_suites", "", "none of them is available (" + openssl_error() + ")");
  }
  if (!t.curves.empty()) {
    std::string list;
    for (const auto& curve : t.curves) list += (list.empty() ? "" : ":") + curve;
    if (SSL_CTX_set1_groups_list(c, list.c_str()) != 1)
      return fail("curve_preferences", "", "not available (" + openssl_error() + ")");
  }
  int mode = SSL_VERIFY_NONE;
  switch (t.client_auth) {
    case ClientAuth::none: break;
    case ClientAuth::request: mode = SSL_VERIFY_PEER; break;
    case ClientAuth::require_any: mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT; break;
    case ClientAuth::verify_if_given: mode = SSL_VERIFY_PEER; break;
    case ClientAuth::require_and_verify: mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT; break;
  }
  const bool verifies = verifies_client_certs(t);
  if (verifies) {
    if (SSL_CTX_load_verify_locations(c, t.client_ca_file.c_str(), nullptr) != 1)
      return fail("client_ca_file", t.client_ca_file,
                  "cannot load PEM CA certificates (" + openssl_error() + ")");
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.client_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(c, names);
  }
  SSL_CTX_set_verify(c, mode, verifies ? nullptr : accept_any_certificate);
  // Sessions resumed with client certificates need a context id.
  static constexpr unsigned char kSessionContext[] = "swarmkeeper";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  return ctx;
}

// Whether the client's certificate names one of `allowed` (DNS, IP, e-mail or URI SAN,
// matched whole). Empty: any certificate the handshake accepted.
bool client_sans_allowed(SSL* ssl, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (!peer) return false;
  bool ok = false;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(peer, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !ok; ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (n->type == GEN_DNS || n->type == GEN_EMAIL || n->type == GEN_URI) {
      const ASN1_IA5STRING* s = n->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = n->d.iPAddress;
      const auto* bytes = ASN1_STRING_get0_data(s);
      boost::system::error_code ec;
      if (ASN1_STRING_length(s) == 4) {
        value = asio::ip::address_v4({bytes[0], bytes[1], bytes[2], bytes[3]}).to_string();
      } else if (ASN1_STRING_length(s) == 16) {
        asio::ip::address_v6::bytes_type b{};
        std::copy(bytes, bytes + 16, b.begin());
        value = asio::ip::address_v6(b).to_string();
      }
    }
    ok = !value.empty() && std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  X509_free(peer);
  return ok;
}

// Where a request comes from, for the login throttle: the IPv4 address, or an IPv6
// address's /64 (one host usually holds a whole /64).
std::string source_of(const tcp::socket& sock) {
  boost::system::error_code ec;
  const auto ep = sock.remote_endpoint(ec);
  if (ec) return "?";
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4()) return a.to_string();
  auto bytes = a.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Whether the client closed its side (or the socket is gone): POLLRDHUP says so even
// with bytes still unread (a TLS close_notify, a pipelined request).
bool peer_gone(tcp::socket& s) {
  pollfd p{s.native_handle(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace

// bcrypt runs on this thread of its own, never on the server's. Two lanes: sources with
// no recent failure are served first, so wrong logins from many sources at once delay
// a clean source's login by at most the check under way. A full lane refuses (429).
class LoginChecker {
 public:
  static constexpr std::size_t kMaxPerLane = 32;
  LoginChecker() : thread_([this] { run(); }) {}
  ~LoginChecker() { stop(); }
  LoginChecker(const LoginChecker&) = delete;
  LoginChecker& operator=(const LoginChecker&) = delete;

  /// Queues a check; false (nothing queued) when its lane is full or stopping.
  bool push(bool clean, std::function<void()> job) {
    std::lock_guard lock(mu_);
    auto& lane = clean ? clean_ : suspect_;
    if (stopping_ || lane.size() >= kMaxPerLane) return false;
    lane.push_back(std::move(job));
    cv_.notify_one();
    return true;
  }
  /// Stops the thread; checks still queued are dropped (their waiters with them).
  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    clean_.clear();
    suspect_.clear();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !clean_.empty() || !suspect_.empty(); });
      if (stopping_) return;
      auto& lane = clean_.empty() ? suspect_ : clean_;
      auto job = std::move(lane.front());
      lane.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> clean_, suspect_;  // guarded by mu_
  bool stopping_ = false;                              // guarded by mu_
  std::thread thread_;                                 // last: starts once the rest exists
};

// Checks credentials on the checker; completes on the caller's executor with (queued,
// outcome): queued false when the checker refused (full).
// (References only: GCC 12 destroys a by-value argument of a call inside co_await twice.)
template <class Token>
auto async_check(LoginChecker& checker, bool clean, const std::shared_ptr<const BasicAuth>& auth,
                 const std::string& authorization, Token&& token) {
  return asio::async_initiate<Token, void(bool, BasicAuth::Outcome)>(
      [&checker, clean, a = auth, credentials = authorization](auto handler) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        const bool queued = checker.push(clean, [h, ex, a, credentials] {
          const auto outcome = a->check(credentials);
          asio::post(ex, [h, outcome]() mutable { std::move (*h)(true, outcome); });
        });
        if (!queued) asio::post(ex, [h]() mutable { std::move (*h)(false, BasicAuth::Outcome::wrong); });
      },
      token);
}

struct HttpServer::Impl {
  // The web configuration in force; replaced whole by reconfigure().
  struct Live {
    std::shared_ptr<ssl::context> tls;  // null: plain HTTP
    std::string tls_id;                 // tls_identity() of what made it
    std::vector<std::string> client_allowed_sans;
    std::shared_ptr<const BasicAuth> auth;  // null: no users
    std::vector<std::pair<std::string, std::string>>
        headers;               // the configured ones serve does not set itself
    std::string header_lines;  // the same, as "Name: value\r\n" lines
  };

  // What sessions touch comes before io: a session's frame still held by io when it
  // is destroyed (after stop()) gives its slot back into these.
  HttpRoutes routes;
  std::vector<std::string> hostnames;     // constant after start
  std::vector<std::string> public_paths;  // constant after start
  static constexpr std::size_t kMaxConnections = 512;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<std::uint64_t> auth_failures{0};
  std::atomic<std::uint64_t> tls_failures{0};
  std::atomic<bool> stopping{false};

  mutable std::mutex live_mu;
  std::shared_ptr<const Live> live;  // guarded by live_mu

  AuthThrottle throttle;  // io thread only

  // Connections waiting for a request, oldest first: at the cap the oldest is closed to
  // make room, so idle or half-sent connections (slowloris) can never lock others out.
  struct Waiting {
    tcp::socket* socket;
    bool* evicted;                        // set when the accept loop closes it to make room
    asio::steady_timer* timer = nullptr;  // a login's wait, cancelled with it
  };
  std::list<Waiting> idle;
  std::size_t streams = 0;  // /events clients (io thread only)
  static constexpr std::size_t kMaxStreams = 256;

  asio::io_context io;
  tcp::acceptor acceptor{io};
  LoginChecker checker;  // after io: stopped (its waiters dropped) while io still exists
  std::thread thread;

  std::shared_ptr<const Live> current() const {
    std::lock_guard lock(live_mu);
    return live;
  }

  Result<void> reconfigure(const WebConfig& web) {
    auto next = std::make_shared<Live>();
    const auto in_force = current();
    if (web.tls) {
      auto id = tls_identity(*web.tls, web.file);
      if (!id) return id.error();
      if (in_force && in_force->tls && in_force->tls_id == *id) {
        next->tls = in_force->tls;  // the same settings and files: connections made under it stay
      } else {
        auto ctx = make_tls_context(*web.tls, web.file);
        if (!ctx) return ctx.error();
        next->tls = std::move(*ctx);
      }
      next->tls_id = std::move(*id);
      next->client_allowed_sans = web.tls->client_allowed_sans;
    }
    if (!web.users.empty()) {
      next->auth = std::make_shared<const BasicAuth>(
          web.users, in_force && in_force->auth ? in_force->auth.get() : nullptr);
    }
    for (const auto& h : web.headers)
      if (!serve_sets_header(h.first)) {
        next->headers.push_back(h);
        next->header_lines += h.first + ": " + h.second + "\r\n";
      }
    std::lock_guard lock(live_mu);
    live = std::move(next);
    return {};
  }

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
        if (idle.front().timer) idle.front().timer->cancel();
        idle.pop_front();
        ++evicted;
      }
      boost::system::error_code ignored;
      sock.set_option(tcp::no_delay(true),
                      ignored);  // an answer's last segment goes at once, not after a delayed ACK
      asio::co_spawn(io, session(std::move(sock)), asio::detached);
    }
  }

  // Waits `d` as an idle connection would (evictable); false if it was evicted or its
  // client went away meanwhile (looked at every 100 ms: a guess whose client gave up
  // holds no slot and costs no bcrypt).
  asio::awaitable<bool> wait_evictable(tcp::socket& sock, const std::chrono::milliseconds& d) {
    bool evicted_here = false, gone = false;
    asio::steady_timer t(io);
    auto at = idle.insert(idle.end(), Waiting{&sock, &evicted_here, &t});
    const auto until = std::chrono::steady_clock::now() + d;
    for (auto now = std::chrono::steady_clock::now(); now < until && !evicted_here && !stopping;
         now = std::chrono::steady_clock::now()) {
      t.expires_after(
          std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(100)));
      co_await t.async_wait(nothrow);
      if (!evicted_here && peer_gone(sock)) {
        gone = true;
        break;
      }
    }
    if (!evicted_here) idle.erase(at);
    co_return !evicted_here && !gone;
  }

  std::string event_stream_head(bool keep_alive) const {
    return std::string(
               "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: "
               "no-cache\r\nConnection: ") +
           (keep_alive ? "keep-alive" : "close") + "\r\nServer: swarmkeeper\r\n" + kSecurityHeaders +
           current()->header_lines + "\r\n";
  }

  // Streams snapshots until the client goes, the server stops, or a new web config
  // changes TLS or no longer accepts the stream's credentials (`authorization`: as it was
  // sent; `accepted`: the config they were checked against).
  template <class Stream>
  asio::awaitable<void> events(Stream& stream, const std::string& authorization,
                               const std::shared_ptr<const Live>& accepted) {
    const std::string head = event_stream_head(true);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), nothrow);
    if (ec) co_return;
    asio::steady_timer tick(io);
    std::uint64_t seen = ~std::uint64_t{0};
    auto cfg = accepted;
    while (!stopping) {
      if (auto now = current(); now != cfg) {
        if (now->tls != accepted->tls) co_return;  // the client connects again, under the new TLS settings
        cfg = std::move(now);
        if (cfg->auth && cfg->auth->quick_check(authorization) != BasicAuth::Outcome::ok) co_return;
      }
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
        beast::get_lowest_layer(stream).expires_after(
            std::chrono::seconds(10));  // a client that does not read is dropped
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(msg), nothrow);
        if (wec) co_return;
      }
      tick.expires_after(std::chrono::milliseconds(200));
      co_await tick.async_wait(nothrow);
    }
  }

  // A canned reply to a request that could not be parsed; the connection then closes.
  // (head: the answer to a HEAD, which has no body.)
  template <class Stream>
  asio::awaitable<void> refuse(Stream& stream, int status, const char* reason, const char* extra = "",
                               bool head = false) {
    const std::string text =
        std::string("HTTP/1.1 ") + std::to_string(status) + " " + reason +
        "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nServer: swarmkeeper\r\n"
        "Cache-Control: no-store\r\n" +
        kSecurityHeaders + current()->header_lines + extra +
        "Content-Length: " + std::to_string(std::strlen(reason) + 1) + "\r\n\r\n" +
        (head ? "" : std::string(reason) + "\n");
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await asio::async_write(stream, asio::buffer(text), nothrow);
  }

  // Whether a request may go on: true when no users are configured, the path is public
  // or the credentials are right; otherwise it has been answered (401/429).
  template <class Stream>
  asio::awaitable<bool> authorized(Stream& stream, const http::request<http::string_body>& req,
                                   const std::string& target, const Live& cfg, const std::string& source) {
    if (!cfg.auth) co_return true;
    const std::string_view path = path_of(target);
    if (std::find(public_paths.begin(), public_paths.end(), path) != public_paths.end()) co_return true;
    const auto field = req.find(http::field::authorization);
    const std::string authorization = field == req.end() ? std::string() : std::string(field->value());
    const bool head = req.method() == http::verb::head;
    auto& sock = beast::get_lowest_layer(stream).socket();
    auto outcome = cfg.auth->quick_check(authorization);
    // One check at a time a source: guesses sent in parallel wait their turn (and the
    // delay the one before earned), where each would otherwise cost a bcrypt unslowed.
    // (A browser's parallel requests with the same credentials find them remembered.)
    static constexpr std::chrono::milliseconds kTurn{20};
    while (!outcome && throttle.checking(source)) {
      if (!co_await wait_evictable(sock, kTurn)) co_return false;
      outcome = cfg.auth->quick_check(authorization);
    }
    bool verified = false;  // by bcrypt, just now
    if (!outcome) {
      const auto now = AuthThrottle::Clock::now();
      const bool clean = throttle.clean(source, now);
      throttle.begin_check(source);
      struct Turn {  // given back however this ends (eviction, a refusal, the server stopping)
        AuthThrottle& t;
        const std::string& s;
        ~Turn() { t.end_check(s); }
      } turn{throttle, source};
      // A source that keeps failing waits before each further try.
      const auto wait = throttle.delay(source, now);
      if (wait.count() > 0 && !co_await wait_evictable(sock, wait)) co_return false;
      auto [queued, checked] =
          co_await async_check(checker, clean, cfg.auth, authorization, asio::use_awaitable);
      if (!queued) {
        co_await refuse(stream, 429, "Too Many Requests: too many logins at once; try again",
                        "Retry-After: 1\r\n", head);
        co_return false;
      }
      outcome = checked;
      verified = true;
    }
    if (*outcome == BasicAuth::Outcome::ok) {
      // Only a checked success clears a source's failures: a remembered one is free to
      // repeat, and must not let its owner guess another user's password unslowed.
      if (verified) throttle.succeeded(source);
      co_return true;
    }
    if (*outcome != BasicAuth::Outcome::missing) {
      ++auth_failures;
      throttle.failed(source, AuthThrottle::Clock::now());
    }
    co_await refuse(stream, 401, "Unauthorized",
                    "WWW-Authenticate: Basic realm=\"swarmkeeper\", charset=\"UTF-8\"\r\n", head);
    co_return false;
  }

  // Reads requests one at a time (keep-alive) and answers them.
  // tls_at_accept: the TLS context the connection was accepted with (null: plain).
  template <class Stream>
  asio::awaitable<void> serve_requests(Stream& stream, const std::string& source,
                                       const ssl::context* tls_at_accept) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buf;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(64 * 1024);
      lowest.expires_after(std::chrono::seconds(15));
      bool evicted_here = false;
      auto at = idle.insert(idle.end(), Waiting{&lowest.socket(), &evicted_here});
      auto [ec, n] = co_await http::async_read(stream, buf, parser, nothrow);
      if (!evicted_here) idle.erase(at);  // (an evicted one was taken off the list already)
      if (ec) {
        if (ec == http::error::header_limit)
          co_await refuse(stream, 431, "Request Header Fields Too Large");
        else if (ec == http::error::body_limit)
          co_await refuse(stream, 413, "Payload Too Large");
        else if (ec.category() == make_error_code(http::error::end_of_stream).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message)
          co_await refuse(stream, 400, "Bad Request");
        break;
      }
      auto& req = parser.get();
      std::string target(req.target());
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
        co_await refuse(stream, 421,
                        "Misdirected Request: unknown Host (serve --web-hostname NAME accepts a name)");
        break;
      }
      // The absolute form (RFC 9112 §3.2.2: http://host/path, as proxies send) names its
      // host too: it must be ours as well.
      if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
        const auto authority = target.find("://") + 3;
        const auto path = target.find_first_of("/?", authority);
        if (!host_allowed(std::string_view(target).substr(
                              authority, path == std::string::npos ? std::string::npos : path - authority),
                          hostnames)) {
          co_await refuse(stream, 421, "Misdirected Request: unknown host in the request target");
          break;
        }
        target = path == std::string::npos ? "/"
                 : target[path] == '?'     ? "/" + target.substr(path)
                                           : target.substr(path);
      }
      const auto cfg = current();
      // TLS settings changed since the handshake (a new CA, SAN list or version): the
      // request is not answered under the old ones; the client connects again.
      if (cfg->tls.get() != tls_at_accept) break;
      if (!co_await authorized(stream, req, target, *cfg, source)) break;
      if (req.method() == http::verb::head &&
          path_of(target) == "/events") {  // the stream's head, and no stream
        const std::string head = event_stream_head(false);
        co_await asio::async_write(stream, asio::buffer(head), nothrow);
        break;
      }
      if (req.method() == http::verb::get && path_of(target) == "/events") {
        if (streams >= kMaxStreams) {
          co_await refuse(stream, 503, "Too many event streams; try again later");
          break;
        }
        ++streams;
        lowest.expires_never();
        const auto field = req.find(http::field::authorization);
        const std::string authorization = field == req.end() ? std::string() : std::string(field->value());
        co_await events(stream, authorization, cfg);
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
      for (const auto& [name, value] : cfg->headers) res.set(name, value);
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
      if (head)
        std::tie(wec, std::ignore) = co_await http::async_write_header(stream, out, nothrow);
      else
        std::tie(wec, std::ignore) = co_await http::async_write(stream, out, nothrow);
      if (wec || !res.keep_alive()) break;
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    ++open;
    struct Count {  // the slot is given back however the session ends
      std::atomic<std::size_t>& n;
      ~Count() { --n; }
    } count{open};
    const std::string source = source_of(sock);
    const auto cfg = current();  // holds the TLS context for the connection's life
    if (!cfg->tls) {
      beast::tcp_stream stream(std::move(sock));
      co_await serve_requests(stream, source, nullptr);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(sock), *cfg->tls);
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(std::chrono::seconds(10));
    bool evicted_here = false;  // a handshake never finished holds a slot as an idle one does
    auto at = idle.insert(idle.end(), Waiting{&lowest.socket(), &evicted_here});
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, nothrow);
    if (!evicted_here) idle.erase(at);
    if (hec) {
      ++tls_failures;
      // Plain HTTP to this port: say so in plain HTTP, as Go's servers do.
      if (hec.category() == asio::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(hec.value())) == SSL_R_HTTP_REQUEST) {
        static constexpr char kPlain[] =
            "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            "Client sent an HTTP request to an HTTPS server.\n";
        lowest.expires_after(std::chrono::seconds(2));
        co_await asio::async_write(lowest, asio::buffer(kPlain, sizeof kPlain - 1), nothrow);
      }
      co_return;
    }
    if (!client_sans_allowed(stream.native_handle(), cfg->client_allowed_sans)) {
      ++tls_failures;
      co_return;
    }
    co_await serve_requests(stream, source, cfg->tls.get());
    lowest.expires_after(std::chrono::seconds(1));
    co_await stream.async_shutdown(nothrow);
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() {
  stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, HttpRoutes routes) {
  const std::string& listen = options.listen;
  auto ep = parse_listen(listen);
  if (!ep) return ep.error();
  auto impl = std::make_unique<Impl>();
  impl->routes = std::move(routes);
  impl->hostnames = options.hostnames;
  impl->public_paths = options.public_paths;
  if (auto ok = impl->reconfigure(options.web); !ok) return ok.error();
  boost::system::error_code ec;
  impl->acceptor.open(ep->protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(*ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error(Errc::io_error,
                 "cannot listen on " + listen + ": " + ec.message() +
                     (ec == asio::error::address_in_use ? " (choose another port with --listen)" : ""));
  asio::co_spawn(impl->io, impl->accept_loop(), asio::detached);
  impl->thread = std::thread([i = impl.get()] { i->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

Result<void> HttpServer::reconfigure(const WebConfig& web) {
  return impl_->reconfigure(web);
}
std::uint16_t HttpServer::port() const noexcept {
  return impl_->acceptor.local_endpoint().port();
}
std::size_t HttpServer::connections() const noexcept {
  return impl_->open.load();
}
std::uint64_t HttpServer::refused() const noexcept {
  return impl_->refused.load();
}
std::uint64_t HttpServer::evicted() const noexcept {
  return impl_->evicted.load();
}
std::uint64_t HttpServer::auth_failures() const noexcept {
  return impl_->auth_failures.load();
}
std::uint64_t HttpServer::tls_failures() const noexcept {
  return impl_->tls_failures.load();
}
bool HttpServer::tls() const {
  return impl_->current()->tls != nullptr;
}
bool HttpServer::authenticates() const {
  return impl_->current()->auth != nullptr;
}

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
  impl_->checker.stop();
}

}  // namespace swarmkeeper::monitor
