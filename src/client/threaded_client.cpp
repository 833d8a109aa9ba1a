// SPDX-License-Identifier: Apache-2.0
// threaded_client.cpp — see swarmkeeper/client/threaded_client.hpp.
#include "swarmkeeper/client/threaded_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <thread>

namespace swarmkeeper {

namespace asio = boost::asio;

namespace {
// Which ThreadedClient's I/O thread this is, and which of its threads (set on each).
thread_local const void* tl_owner = nullptr;
thread_local std::size_t tl_index = 0;

// Runs io until it runs out of work. With busy_poll > 0, an idle thread keeps polling for
// that long before it sleeps in the kernel: a reply that arrives within it is handled
// without a wake-up (tens of microseconds on an idle machine).
void run_polling(asio::io_context& io, std::chrono::microseconds busy_poll) {
  if (busy_poll.count() <= 0) {
    io.run();
    return;
  }
  for (;;) {
    if (io.poll() > 0) continue;
    if (io.stopped()) return;
    const auto until = std::chrono::steady_clock::now() + busy_poll;
    bool got = false;
    while (!got && std::chrono::steady_clock::now() < until) got = io.poll() > 0;
    if (io.stopped()) return;
    if (!got && io.run_one() == 0) return;
  }
}
}  // namespace

struct ThreadedClient::Shard {
  asio::io_context io{1};  // one thread runs it: Asio's scheduler takes its fast path
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<Client> client;
  std::thread thread;
};

ThreadedClient::ThreadedClient(ClientOptions options, std::size_t io_threads,
                               std::chrono::microseconds busy_poll) {
  if (io_threads == 0) io_threads = std::max(1u, std::thread::hardware_concurrency());
  try {
    for (std::size_t i = 0; i < io_threads; ++i) {
      auto s = std::make_unique<Shard>();
      s->client = std::make_unique<Client>(s->io.get_executor(), options);
      Shard* sh = s.get();
      shards_.push_back(std::move(s));
      sh->thread = std::thread([sh, this, i, busy_poll] {
        tl_owner = this;
        tl_index = i;
        run_polling(sh->io, busy_poll);
      });
    }
  } catch (...) {  // a thread or a Client that could not be made: stop the ones that were
    stop_all();
    throw;
  }
}

// Every shard's Client is destroyed on its own thread, then the threads end.
void ThreadedClient::stop_all() noexcept {
  for (auto& s : shards_) {
    if (!s->thread.joinable()) continue;
    asio::post(s->io, [sh = s.get()] {
      if (sh->client) sh->client->close();
      sh->client.reset();
    });
    s->work.reset();  // after the post: the io_context still has work when it arrives
  }
  for (auto& s : shards_)
    if (s->thread.joinable()) s->thread.join();
}

ThreadedClient::~ThreadedClient() {
  stop_all();
}

Client& ThreadedClient::local() noexcept {
  if (tl_owner == this) return *shards_[tl_index]->client;
  return *shards_[next_.fetch_add(1, std::memory_order_relaxed) % shards_.size()]->client;
}

Client& ThreadedClient::client(std::size_t i) noexcept {
  return *shards_[i % shards_.size()]->client;
}

asio::any_io_executor ThreadedClient::executor(std::size_t i) const {
  return shards_[i % shards_.size()]->io.get_executor();
}

void ThreadedClient::spawn(std::function<asio::awaitable<void>()> fn) {
  const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed) % shards_.size();
  asio::co_spawn(
      shards_[i]->io, [fn = std::move(fn)]() -> asio::awaitable<void> { co_await fn(); }, asio::detached);
}

namespace {
// Runs fn on shard i's thread and waits for it (directly when already there).
template <class Fn>
void on_shard_thread(const void* owner, std::size_t i, asio::io_context& io, Fn fn) {
  if (tl_owner == owner && tl_index == i) {
    fn();
    return;
  }
  std::promise<void> done;
  asio::post(io, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}
}  // namespace

ClientMetricsSnapshot ThreadedClient::metrics() const {
  ClientMetricsSnapshot total;
  if (tl_owner == this) {  // waiting on another I/O thread from one could deadlock: this one's only
    if (const auto& c = shards_[tl_index]->client) total = c->metrics();
    return total;
  }
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    const auto& s = shards_[i];
    on_shard_thread(this, i, s->io, [&] {
      if (s->client) total.merge(s->client->metrics());  // the pool is read on its thread
    });
  }
  return total;
}

void ThreadedClient::close() {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    const auto& s = shards_[i];
    auto close_it = [sh = s.get()] {
      if (sh->client) sh->client->close();
    };
    if (tl_owner == this && tl_index != i)
      asio::post(s->io, close_it);  // never wait on another I/O thread
    else
      on_shard_thread(this, i, s->io, close_it);
  }
}

}  // namespace swarmkeeper
