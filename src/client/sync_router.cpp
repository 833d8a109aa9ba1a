// SPDX-License-Identifier: Apache-2.0
// sync_router.cpp — see sync_router.hpp.
#include "client/sync_router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <thread>

#include "client/on_executor.hpp"
#include "swarmkeeper/client/cluster_client.hpp"

namespace swarmkeeper {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct SyncRouter::State {
  explicit State(ClientOptions o) : options(std::move(o)) {}
  ClientOptions options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  std::mutex mu;                   // guards router, tried_at, last_error
  std::shared_ptr<Router> router;  // set once, by the first open() that succeeds
  Clock::time_point tried_at{};
  Error last_error{Errc::cancelled, "not opened yet"};
  std::mutex opening;   // one attempt at a time
  bool closed = false;  // guarded by mu: close() was called; never opened again

  // Runs aw on the I/O thread; the future holds its result.
  template <class T>
  std::future<T> start(asio::awaitable<T> aw) {
    return client_detail::start_on(io.get_executor(), std::move(aw));
  }
};

SyncRouter::SyncRouter(ClientOptions options) : s_(std::make_unique<State>(std::move(options))) {
  s_->thread = std::thread([s = s_.get()] { s->io.run(); });
}

SyncRouter::~SyncRouter() {
  asio::post(s_->io, [s = s_.get()] {
    if (s->router) s->router->close();
  });
  s_->work.reset();
  asio::post(s_->io,
             [s = s_.get()] { s->router.reset(); });  // after close(): its pools end, io.run() returns
  s_->thread.join();
}

void SyncRouter::close() {
  std::shared_ptr<Router> r;
  {
    std::lock_guard lock(s_->mu);
    s_->closed = true;
    r = s_->router;
  }
  if (r) asio::post(s_->io, [r] { r->close(); });
}

std::shared_ptr<Router> SyncRouter::router() {
  std::lock_guard lock(s_->mu);
  return s_->router;
}

Result<void> SyncRouter::open() {
  if (open_) return {};
  std::lock_guard opening(s_->opening);  // a caller arriving during an attempt waits for its outcome
  {
    std::lock_guard lock(s_->mu);
    if (s_->closed) return Error(Errc::cancelled, "closed");
    if (s_->router) return {};
    if (Clock::now() - s_->tried_at < std::chrono::seconds(1)) return s_->last_error;
    s_->tried_at = Clock::now();
  }
  auto opened = s_->start(open_router(s_->io.get_executor(), s_->options)).get();
  std::lock_guard lock(s_->mu);
  if (!opened) {
    s_->last_error = opened.error();
    return opened.error();
  }
  if (s_->closed) {  // closed while it opened
    auto late = std::shared_ptr<Router>(std::move(*opened));
    asio::post(s_->io, [late] { late->close(); });
    return Error(Errc::cancelled, "closed");
  }
  s_->router = std::shared_ptr<Router>(std::move(*opened));
  cluster_ = dynamic_cast<ClusterClient*>(s_->router.get()) != nullptr;
  open_ = true;
  return {};
}

std::vector<SyncRouter::Master> SyncRouter::masters() {
  std::vector<Master> out;
  auto r = router();
  if (!r) {
    out.push_back({"", s_->options.connection});
    return out;
  }
  auto list = s_->start([](std::shared_ptr<Router> r) -> asio::awaitable<std::vector<ConnectionOptions>> {
                  co_return r->masters();  // (on the I/O thread: the slot map lives there)
                }(r))
                  .get();
  const bool named = cluster();
  for (auto& c : list)
    out.push_back({named ? c.host + ":" + std::to_string(c.port) : std::string(), std::move(c)});
  return out;
}

Result<resp::Reply> SyncRouter::at(const Master& m, resp::Command cmd) {
  if (auto ok = open(); !ok) return ok.error();
  return s_->start(router()->command_at(m.connection, std::move(cmd), true)).get();
}

Result<std::pair<std::string, std::vector<std::string>>> SyncRouter::scan(const Master& m, std::string cursor,
                                                                          std::size_t count) {
  if (auto ok = open(); !ok) return ok.error();
  return s_->start(router()->scan_at(m.connection, std::move(cursor), "", count)).get();
}

Result<std::shared_ptr<Router>> SyncRouter::opened() {
  if (auto ok = open(); !ok) return ok.error();
  return router();
}

Result<resp::Reply> SyncRouter::command(resp::Command cmd, bool idempotent) {
  return command_async(std::move(cmd), idempotent).get();
}

std::future<Result<resp::Reply>> SyncRouter::command_async(resp::Command cmd, bool idempotent) {
  if (auto ok = open(); !ok) {
    std::promise<Result<resp::Reply>> failed;
    failed.set_value(ok.error());
    return failed.get_future();
  }
  return s_->start(router()->command(std::move(cmd), idempotent));
}

Result<Router::Value> SyncRouter::get(std::string key) {
  if (auto ok = open(); !ok) return ok.error();
  return s_->start(router()->get(std::move(key))).get();
}

Result<void> SyncRouter::set(std::string key, std::string value, std::chrono::milliseconds ttl) {
  if (auto ok = open(); !ok) return ok.error();
  return s_->start(router()->set(std::move(key), std::move(value), ttl)).get();
}

void SyncRouter::refresh() {
  if (auto r = router()) (void)s_->start(r->refresh()).get();
}

ClientMetricsSnapshot SyncRouter::metrics() {
  auto r = router();
  if (!r) return {};
  return s_
      ->start([](std::shared_ptr<Router> r) -> asio::awaitable<ClientMetricsSnapshot> {
        co_return r->metrics();
      }(r))
      .get();
}

}  // namespace swarmkeeper
