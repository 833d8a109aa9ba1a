// SPDX-License-Identifier: Apache-2.0
// connection.cpp — Asio carries out what the Multiplexer decides (see connection.hpp).
//
// Three coroutines run per open connection, all holding the Impl alive:
//   writer:   sleeps until requests are staged, writes them all in one write, repeats;
//   reader:   reads whatever arrives into the multiplexer's buffer and dispatches it;
//   watchdog: while commands are in flight, fails the connection with Errc::timeout
//             if no reply arrives for command_timeout.
// The first failure wins: fail() closes the socket, cancels the timers and fails every
// request; the coroutines then see their operation aborted and return.
#include "net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdio>

namespace swarmkeeper::net {
namespace {

using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// A request awaited by a coroutine. The timer is the coroutine's wake-up call: it waits
// on it, and completion cancels it. (A stored completion handler would do as well, but
// Boost 1.81's any_completion_handler recurses when moved around; a timer is simple.)
struct PendingOp {
  explicit PendingOp(const asio::any_io_executor& ex) : wake(ex, Clock::time_point::max()) {}
  Request req;
  asio::steady_timer wake;
  bool completed = false;
};

void resume_waiter(Request* r) {
  auto* op = static_cast<PendingOp*>(r->owner);
  op->completed = true;
  op->wake.cancel();
}

}  // namespace

Error error_from_reply(resp::ReplyRef reply, std::string_view context) {
  const std::string_view text = reply.str();
  const std::string_view code = text.substr(0, text.find(' '));
  Errc errc = Errc::server_error;
  if (code == "NOPERM")
    errc = Errc::no_permission;
  else if (code == "LOADING")
    errc = Errc::server_loading;
  else if (code == "BUSY")
    errc = Errc::server_busy;
  else if (code == "READONLY")
    errc = Errc::read_only;
  else if (code == "OOM")
    errc = Errc::out_of_memory;
  else if (code == "NOSCRIPT")
    errc = Errc::no_script;
  else if (code == "WRONGPASS" || code == "NOAUTH")
    errc = Errc::auth_failed;
  Error e(errc, std::string(context) + ": " + std::string(text));
  e.from_server(classify_server_error(text));
  return e;
}

struct Connection::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor executor, ConnectionOptions o)
      : ex(executor),
        opts(std::move(o)),
        sock(executor),
        mux(opts.parser_limits),
        wake(executor),
        watchdog(executor) {}

  asio::any_io_executor ex;
  ConnectionOptions opts;
  tcp::socket sock;  // plain TCP; with TLS the socket lives inside `tls`
  std::unique_ptr<asio::ssl::context> ssl_ctx;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls;
  Multiplexer mux;
  asio::steady_timer wake;      // the writer sleeps on it while nothing is staged
  asio::steady_timer watchdog;  // the command timeout
  std::string wbuf;
  bool closed = false;
  std::function<void(const Error&)> close_handler;
  std::atomic<int>* read_guard = nullptr;  // see set_read_guard
  bool connect_timed_out = false;
  Clock::time_point last_progress = Clock::now();
  int protocol = 2;
  std::string server_version;
  std::uint64_t bytes_out = 0, bytes_in = 0, writes = 0;

  tcp::socket& socket() { return tls ? tls->next_layer() : sock; }
  std::string where() const { return opts.display(); }

  // Translates an I/O error into a typed Error with a message a user can act on.
  Error io_error(const error_code& ec, std::string_view during) const {
    const std::string at = where();
    if (connect_timed_out)
      return Error(Errc::timeout, std::string(during) + " " + at + " timed out after " +
                                      std::to_string(opts.connect_timeout.count()) + " ms");
    if (ec == asio::error::connection_refused)
      return Error(Errc::connection_refused,
                   "cannot connect to " + at +
                       ": connection refused (is Redis running there? check --url / REDIS_URL)");
    if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
        ec == asio::error::no_data || ec == asio::error::no_recovery)
      return Error(Errc::dns_failure, "cannot resolve host '" + opts.host + "': " + ec.message());
    if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
        ec == asio::ssl::error::stream_truncated)
      return Error(Errc::connection_lost, "connection to " + at + " lost while " + std::string(during) +
                                              ": the server closed it (" + ec.message() + ")");
    if (ec == asio::error::operation_aborted)
      return Error(Errc::cancelled, "connection to " + at + " closed");
    if (ec.category() == asio::error::get_ssl_category() ||
        ec.category() == asio::ssl::error::get_stream_category())
      return Error(Errc::tls_error, "TLS with " + at + " failed while " + std::string(during) + ": " +
                                        ec.message() +
                                        " (check the CA file, the certificate and the server name)");
    return Error(Errc::io_error, std::string(during) + " " + at + " failed: " + ec.message());
  }

  void fail(const Error& e) {
    if (closed) return;
    closed = true;
    if (close_handler) {  // first: whoever watches the socket learns before it is closed
      auto h = std::move(close_handler);
      close_handler = nullptr;
      h(e);
    }
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    wake.cancel();
    watchdog.cancel();
    mux.fail_all(e);
  }

  void submit(Request* r) {
    const bool was_idle = !mux.has_in_flight() && !mux.has_staged();
    mux.enqueue(r);
    if (closed) return;
    if (was_idle) {
      last_progress = Clock::now();
      watchdog.cancel();  // re-arm for the new work
    }
    wake.cancel();  // no-op while the writer is mid-write: it loops and finds the request
  }

  template <class Buffers>
  asio::awaitable<std::tuple<error_code, std::size_t>> write(const Buffers& b) {
    std::tuple<error_code, std::size_t> result;  // (no `co_return co_await` in a branch: GCC 12)
    if (tls) {
      result = co_await asio::async_write(*tls, b, use_nothrow);
    } else {
      result = co_await asio::async_write(sock, b, use_nothrow);
    }
    co_return result;
  }

  static asio::awaitable<void> writer(std::shared_ptr<Impl> self) {
    while (!self->closed) {
      if (!self->mux.has_staged()) {
        self->wake.expires_at(Clock::time_point::max());
        co_await self->wake.async_wait(use_nothrow);
        continue;
      }
      const auto& pieces = self->mux.prepare_write();
      self->wbuf.clear();
      for (std::string_view p : pieces) self->wbuf.append(p);
      auto [ec, n] = co_await self->write(asio::buffer(self->wbuf));
      if (ec) co_return self->fail(self->io_error(ec, "writing to"));
      self->bytes_out += n;
      ++self->writes;
      self->mux.on_written();
    }
  }

  static asio::awaitable<void> reader(std::shared_ptr<Impl> self) {
    std::size_t chunk = 16 * 1024;
    while (!self->closed) {
      // With a read guard (plain TCP only): wait until readable, then raise the guard
      // before taking the bytes from the kernel and lower it once they are dispatched,
      // so an observer sees either unread bytes on the socket or a raised guard.
      const bool guarded = self->read_guard != nullptr && !self->tls;
      if (guarded) {
        auto [wec] = co_await self->sock.async_wait(tcp::socket::wait_read, use_nothrow);
        if (wec) co_return self->fail(self->io_error(wec, "reading from"));
        self->read_guard->fetch_add(1);
      }
      std::string& buf = self->mux.read_buffer();
      const std::size_t old = buf.size();
      buf.resize(old + chunk);
      error_code ec;
      std::size_t n = 0;
      if (guarded) {
        n = self->sock.read_some(asio::buffer(buf.data() + old, chunk), ec);  // readable: returns at once
        if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
      } else if (self->tls) {  // (if/else, not ?: — GCC 12 miscompiles co_await inside a conditional)
        std::tie(ec, n) =
            co_await self->tls->async_read_some(asio::buffer(buf.data() + old, chunk), use_nothrow);
      } else {
        std::tie(ec, n) =
            co_await self->sock.async_read_some(asio::buffer(buf.data() + old, chunk), use_nothrow);
      }
      buf.resize(old + n);
      struct Lower {  // the guard comes down on every path out of this iteration
        std::atomic<int>* g;
        ~Lower() {
          if (g) g->fetch_sub(1);
        }
      } lower{guarded ? self->read_guard : nullptr};
      if (ec) co_return self->fail(self->io_error(ec, "reading from"));
      self->bytes_in += n;
      if (n == chunk && chunk < 1024 * 1024) chunk *= 2;  // big replies: read in bigger gulps
      auto dispatched = self->mux.on_read();
      if (!dispatched) co_return self->fail(dispatched.error());
      if (*dispatched > 0) self->last_progress = Clock::now();
    }
  }

  static asio::awaitable<void> watch(std::shared_ptr<Impl> self) {
    while (!self->closed) {
      if (!self->mux.has_in_flight() && !self->mux.has_staged()) {
        self->watchdog.expires_at(Clock::time_point::max());
      } else {
        const auto deadline = self->last_progress + self->opts.command_timeout;
        if (Clock::now() >= deadline) {
          co_return self->fail(Error(Errc::timeout, "no reply from " + self->where() + " for " +
                                                        std::to_string(self->opts.command_timeout.count()) +
                                                        " ms (command timeout); the connection was closed"));
        }
        self->watchdog.expires_at(deadline);
      }
      co_await self->watchdog.async_wait(use_nothrow);
    }
  }

  asio::awaitable<Error> exec_raw(std::string_view payload, std::size_t replies, ReplySink sink) {
    PendingOp op(ex);
    op.req.payload = payload;
    op.req.expected = replies;
    op.req.sink = sink;
    op.req.on_done = &resume_waiter;
    op.req.owner = &op;
    submit(&op.req);
    if (!op.completed) co_await op.wake.async_wait(use_nothrow);  // a failed connection completes at once
    co_return std::move(op.req.error);
  }

  asio::awaitable<Result<resp::Reply>> exec_one(const resp::Command& cmd, std::string_view context) {
    const std::string wire = cmd.encoded();
    resp::Reply reply;
    auto keep = [](void* ctx, const resp::ReplyView& v) { *static_cast<resp::Reply*>(ctx) = resp::Reply(v); };
    Error e = co_await exec_raw(wire, 1, ReplySink{&reply, keep});
    if (e) co_return e;
    if (reply.is_error()) co_return error_from_reply(reply.root(), context);
    co_return reply;
  }

  asio::awaitable<Result<void>> handshake() {
    const std::string user = opts.username.empty() ? "default" : opts.username;
    bool need_legacy = opts.protocol < 3;
    if (!need_legacy) {
      resp::Command hello("HELLO");
      hello.arg(3);
      if (!opts.password.empty()) hello.arg("AUTH").arg(user).arg(opts.password);
      if (!opts.client_name.empty()) hello.arg("SETNAME").arg(opts.client_name);
      auto r = co_await exec_one(hello, "HELLO at " + where());
      if (r) {
        protocol = 3;
        const resp::ReplyRef root = r->root();
        for (std::size_t i = 0; i + 1 < root.size(); i += 2)
          if (root[i].str() == "version") server_version = std::string(root[i + 1].str());
      } else if (r.error().server_code() == ServerCode::unknown_command ||
                 r.error().server_code() == ServerCode::no_proto) {
        need_legacy = true;  // Redis < 6: no HELLO, speak RESP2
      } else if (r.error().code() == Errc::auth_failed) {
        co_return Error(
            Errc::auth_failed,
            "authentication as user '" + user + "' at " + where() +
                " failed: " + std::string(r.error().message().substr(r.error().message().find(": ") + 2)) +
                (opts.password.empty() ? " (the server needs a password: set it in the URL or REDIS_PASSWORD)"
                                       : ""));
      } else {
        co_return r.error();
      }
    }
    if (need_legacy) {
      if (!opts.password.empty()) {
        resp::Command auth("AUTH");
        if (!opts.username.empty()) auth.arg(opts.username);
        auth.arg(opts.password);
        auto r = co_await exec_one(auth, "AUTH at " + where());
        if (!r)
          co_return Error(Errc::auth_failed, "authentication as user '" + user + "' at " + where() +
                                                 " failed: " + r.error().message());
      }
      if (!opts.client_name.empty()) {
        auto r =
            co_await exec_one(resp::Command("CLIENT").arg("SETNAME").arg(opts.client_name), "CLIENT SETNAME");
        if (!r && r.error().code() == Errc::auth_failed)
          co_return Error(Errc::auth_failed,
                          "the server at " + where() + " needs a password: " + r.error().message());
      }
    }
    if (opts.db != 0) {
      auto r = co_await exec_one(resp::Command("SELECT").arg(opts.db),
                                 "SELECT " + std::to_string(opts.db) + " at " + where());
      if (!r) co_return r.error();
    }
    co_return Result<void>();
  }

  Result<void> setup_tls() {
    namespace ssl = asio::ssl;
    ssl_ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    error_code ec;
    const auto& t = opts.tls;
    if (!t.ca_file.empty() && (ssl_ctx->load_verify_file(t.ca_file, ec), ec))
      return Error(Errc::tls_error, "cannot load CA file '" + t.ca_file + "': " + ec.message());
    if (!t.ca_dir.empty() && (ssl_ctx->add_verify_path(t.ca_dir, ec), ec))
      return Error(Errc::tls_error, "cannot use CA directory '" + t.ca_dir + "': " + ec.message());
    if (t.ca_file.empty() && t.ca_dir.empty()) ssl_ctx->set_default_verify_paths(ec);
    if (!t.cert_file.empty() && (ssl_ctx->use_certificate_chain_file(t.cert_file, ec), ec))
      return Error(Errc::tls_error, "cannot load client certificate '" + t.cert_file + "': " + ec.message());
    if (!t.key_file.empty() && (ssl_ctx->use_private_key_file(t.key_file, ssl::context::pem, ec), ec))
      return Error(Errc::tls_error, "cannot load client key '" + t.key_file + "': " + ec.message());
    const std::string name = t.server_name.empty() ? opts.host : t.server_name;
    if (t.verify) {
      ssl_ctx->set_verify_mode(ssl::verify_peer);
      ssl_ctx->set_verify_callback(ssl::host_name_verification(name));
    } else {
      ssl_ctx->set_verify_mode(ssl::verify_none);
      std::fprintf(stderr,
                   "swarmkeeper: WARNING: TLS certificate verification is OFF for %s: anyone on the path can "
                   "impersonate the server. For tests only.\n",
                   where().c_str());
    }
    tls = std::make_unique<ssl::stream<tcp::socket>>(ex, *ssl_ctx);
    error_code addr_ec;
    asio::ip::make_address(name, addr_ec);
    if (addr_ec) SSL_set_tlsext_host_name(tls->native_handle(), name.c_str());  // SNI for names, not IPs
    return {};
  }

  asio::awaitable<Result<void>> connect() {
    if (opts.tls.enabled) {
      if (auto r = setup_tls(); !r) co_return r;
    }
    tcp::resolver resolver(ex);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(opts.host, std::to_string(opts.port), use_nothrow);
    if (rec) co_return io_error(rec, "resolving");
    auto [cec, ep] = co_await asio::async_connect(socket(), endpoints, use_nothrow);
    if (cec) co_return io_error(cec, "connecting to");
    error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if (opts.keepalive) socket().set_option(asio::socket_base::keep_alive(true), ignored);
    if (tls) {
      auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_nothrow);
      if (hec) co_return io_error(hec, "TLS handshake with");
    }
    co_return Result<void>();
  }
};

asio::awaitable<Result<std::shared_ptr<Connection>>> Connection::open(asio::any_io_executor ex,
                                                                      ConnectionOptions options) {
  auto impl = std::make_shared<Impl>(ex, std::move(options));
  // One deadline for resolve + connect + TLS + handshake: on expiry, close the socket.
  asio::steady_timer deadline(ex);
  deadline.expires_after(impl->opts.connect_timeout);
  std::weak_ptr<Impl> weak = impl;
  deadline.async_wait([weak](const error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed) return;
    self->connect_timed_out = true;
    error_code ignored;
    self->socket().close(ignored);
    if (self->mux.has_in_flight() || self->mux.has_staged())
      self->fail(self->io_error(asio::error::timed_out, "handshake with"));
  });

  auto connected = co_await impl->connect();
  if (!connected) {
    deadline.cancel();
    impl->closed = true;
    co_return connected.error();
  }
  asio::co_spawn(ex, Impl::writer(impl), asio::detached);
  asio::co_spawn(ex, Impl::reader(impl), asio::detached);
  asio::co_spawn(ex, Impl::watch(impl), asio::detached);
  auto shaken = co_await impl->handshake();
  deadline.cancel();
  if (!shaken) {
    Error e =
        impl->connect_timed_out ? impl->io_error(asio::error::timed_out, "handshake with") : shaken.error();
    impl->fail(e);
    co_return e;
  }
  co_return std::shared_ptr<Connection>(new Connection(std::move(impl)));
}

Connection::~Connection() {
  close();
}

asio::awaitable<Result<resp::Reply>> Connection::exec(const resp::Command& cmd) {
  co_return co_await impl_->exec_one(cmd, "the server replied");
}

asio::awaitable<Result<std::vector<resp::Reply>>> Connection::exec(const resp::Pipeline& pipeline) {
  std::vector<resp::Reply> replies;
  replies.reserve(pipeline.size());
  auto keep = [](void* ctx, const resp::ReplyView& v) {
    static_cast<std::vector<resp::Reply>*>(ctx)->emplace_back(v);
  };
  Error e = co_await impl_->exec_raw(pipeline.buffer(), pipeline.size(), ReplySink{&replies, keep});
  if (e) co_return e;
  co_return replies;
}

asio::awaitable<Error> Connection::exec_raw(std::string_view payload, std::size_t replies, ReplySink sink) {
  return impl_->exec_raw(payload, replies, sink);
}

void Connection::on_push(std::function<void(const resp::ReplyView&)> handler) {
  impl_->mux.push_handler = std::move(handler);
}

void Connection::on_close(std::function<void(const Error&)> handler) {
  impl_->close_handler = std::move(handler);
}
void Connection::set_read_guard(std::atomic<int>* guard) {
  impl_->read_guard = guard;
  error_code ignored;
  if (!impl_->tls) impl_->sock.non_blocking(true, ignored);
}

void Connection::close() {
  impl_->fail(Error(Errc::cancelled, "connection to " + impl_->where() + " closed"));
}
bool Connection::is_open() const noexcept {
  return !impl_->closed;
}
int Connection::native_handle() noexcept {
  return impl_->closed ? -1 : impl_->socket().native_handle();
}
const Error& Connection::failure() const noexcept {
  return impl_->mux.failure();
}
int Connection::protocol() const noexcept {
  return impl_->protocol;
}
const std::string& Connection::server_version() const noexcept {
  return impl_->server_version;
}
const ConnectionOptions& Connection::options() const noexcept {
  return impl_->opts;
}
std::uint64_t Connection::bytes_written() const noexcept {
  return impl_->bytes_out;
}
std::uint64_t Connection::bytes_read() const noexcept {
  return impl_->bytes_in;
}
std::uint64_t Connection::writes() const noexcept {
  return impl_->writes;
}

}  // namespace swarmkeeper::net
