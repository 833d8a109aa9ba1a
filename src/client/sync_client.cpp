// SPDX-License-Identifier: Apache-2.0
// sync_client.cpp — SyncClient: a Client on an I/O thread of its own, for code outside
// coroutines (see swarmkeeper/client/client.hpp).
#include "swarmkeeper/client/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <thread>

#include "client/on_executor.hpp"

namespace swarmkeeper {

namespace asio = boost::asio;

struct SyncClient::State {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<Client> client;
  std::thread thread;

  // Starts aw on the I/O thread; the future holds its result.
  template <class T>
  std::future<T> start(asio::awaitable<T> aw) {
    return client_detail::start_on(io.get_executor(), std::move(aw));
  }
  template <class T>
  T call(asio::awaitable<T> aw) {
    return start(std::move(aw)).get();
  }
};

SyncClient::SyncClient(ClientOptions options) : s_(std::make_unique<State>()) {
  s_->client = std::make_unique<Client>(s_->io.get_executor(), std::move(options));
  s_->thread = std::thread([s = s_.get()] { s->io.run(); });
}

SyncClient::~SyncClient() {
  s_->client->close();
  s_->work.reset();
  asio::post(s_->io, [s = s_.get()] { s->client.reset(); });
  s_->thread.join();
}

Result<Client::Value> SyncClient::get(const std::string& key) {
  return s_->call(s_->client->get(key));
}
Result<void> SyncClient::set(const std::string& key, const std::string& value,
                             std::chrono::milliseconds ttl) {
  return s_->call(s_->client->set(key, value, ttl));
}
Result<resp::Reply> SyncClient::command(const resp::Command& cmd, bool idempotent) {
  return s_->call(s_->client->command(cmd, idempotent));
}
std::future<Result<resp::Reply>> SyncClient::command_async(resp::Command cmd, bool idempotent) {
  return s_->start(s_->client->command(std::move(cmd), idempotent));
}
Client& SyncClient::async() noexcept {
  return *s_->client;
}
ClientMetricsSnapshot SyncClient::metrics() const {
  std::promise<ClientMetricsSnapshot> p;
  asio::post(s_->io, [&] { p.set_value(s_->client->metrics()); });  // the pool is read on its thread
  return p.get_future().get();
}

}  // namespace swarmkeeper
