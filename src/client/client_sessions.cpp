// SPDX-License-Identifier: Apache-2.0
// client_sessions.cpp — Client's connections for one caller alone: leases (WATCH/MULTI,
// blocking commands) and subscriptions (RESP3 push messages).
#include "swarmkeeper/client/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <deque>

#include "client/client_pool.hpp"
#include "net/connection.hpp"

namespace swarmkeeper {

using namespace client_detail;

Client::Lease::Lease(std::shared_ptr<Impl> impl, std::shared_ptr<net::Connection> conn)
    : impl_(std::move(impl)), conn_(std::move(conn)) {}

Client::Lease::~Lease() {
  if (!impl_ || !conn_) return;
  asio::dispatch(impl_->ex, [impl = impl_, conn = conn_] { impl->end_lease(conn); });
}

asio::awaitable<Result<resp::Reply>> Client::Lease::exec(resp::Command cmd) {
  auto r = co_await conn_->exec(cmd);
  co_return r;
}

struct Client::Subscription::State {
  explicit State(const asio::any_io_executor& ex) : wake(ex) {}
  std::deque<Message> queue;
  std::size_t confirmed = 0;
  asio::steady_timer wake;
};

Client::Subscription::Subscription(std::shared_ptr<Impl> impl, std::shared_ptr<net::Connection> conn,
                                   std::shared_ptr<State> state)
    : impl_(std::move(impl)), conn_(std::move(conn)), state_(std::move(state)) {}

Client::Subscription::~Subscription() {
  if (!impl_ || !conn_) return;
  asio::dispatch(impl_->ex, [impl = impl_, conn = conn_] { impl->end_lease(conn); });
}

asio::awaitable<Result<Client::Message>> Client::Subscription::next() {
  for (;;) {
    if (!state_->queue.empty()) {
      Message m = std::move(state_->queue.front());
      state_->queue.pop_front();
      co_return m;
    }
    if (!conn_->is_open()) co_return conn_->failure();
    state_->wake.expires_after(std::chrono::seconds(1));  // also re-checks the connection
    co_await state_->wake.async_wait(nothrow);
  }
}

asio::awaitable<Result<Client::Subscription>> Client::subscribe(std::vector<std::string> channels) {
  auto impl = impl_;
  auto c = co_await on_client(impl, impl->open_leased());
  if (!c) co_return c.error();
  auto conn = std::move(*c);
  Subscription sub(impl, conn, std::make_shared<Subscription::State>(impl->ex));
  if (conn->protocol() != 3)
    co_return Error(Errc::invalid_argument,
                    "subscribing needs RESP3 (HELLO 3); this server or configuration speaks RESP2");
  std::weak_ptr<Subscription::State> weak = sub.state_;
  conn->on_push([weak](const resp::ReplyView& v) {
    auto st = weak.lock();
    const resp::ReplyRef r = v.root();
    if (!st || r.size() < 3) return;
    const std::string_view kind = r[0].str();
    if (kind == "message") {
      st->queue.push_back({std::string(r[1].str()), std::string(r[2].str())});
    } else if (kind == "pmessage" && r.size() >= 4) {
      st->queue.push_back({std::string(r[2].str()), std::string(r[3].str())});
    } else if (kind == "subscribe" || kind == "psubscribe") {
      ++st->confirmed;
    }
    st->wake.cancel();
  });
  const std::string wire = resp::Command("SUBSCRIBE").args(channels).encoded();
  if (Error e = co_await conn->exec_raw(wire, 0, net::ReplySink{}); e) co_return e;
  const auto deadline = Clock::now() + impl->opts.connection.command_timeout;
  while (sub.state_->confirmed < channels.size()) {
    if (!conn->is_open()) co_return conn->failure();
    if (Clock::now() >= deadline) co_return Error(Errc::timeout, "SUBSCRIBE was not confirmed in time");
    sub.state_->wake.expires_after(std::chrono::milliseconds(100));
    co_await sub.state_->wake.async_wait(nothrow);
  }
  co_return std::move(sub);
}

}  // namespace swarmkeeper
