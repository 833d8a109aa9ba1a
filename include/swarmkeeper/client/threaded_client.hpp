// SPDX-License-Identifier: Apache-2.0
// threaded_client.hpp — the client on every core: N I/O threads, each running a Client of
// its own (its own pool of connections, its own automatic pipelining), so throughput
// grows with cores.
//
// Threading contract:
//   - Each I/O thread runs one io_context; its Client is touched only there.
//   - local() is the Client of the calling thread when the caller runs on one of the I/O
//     threads: a caller spawned there (spawn(), executor(i)) pays no cross-thread hop
//     at all. From any other thread or executor, local() picks a Client round-robin, and
//     each call hops to that Client's thread and back (the one handoff it needs).
//   - The forwarding methods (get, set, command, ...) are local()'s; awaitable from any
//     executor. ThreadedClient itself is thread-safe; destroy it from outside its threads.
//
//   ThreadedClient tc(options);                 // one I/O thread per core
//   tc.spawn([&]() -> asio::awaitable<void> {   // a caller on an I/O thread: no hop
//     co_await tc.set("k", "v");
//   });
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "swarmkeeper/client/client.hpp"

namespace swarmkeeper {

class ThreadedClient {
 public:
  /// io_threads 0: one per core (std::thread::hardware_concurrency(), at least 1). The
  /// options hold per thread: min/max_connections are each thread's pool.
  /// busy_poll: an idle I/O thread polls this long before it sleeps in the kernel, so a
  /// reply that comes back sooner costs no wake-up. Default 50 µs: on an idle machine a
  /// wake-up costs tens of µs, and polling doubled one caller's rate and 64 callers' by
  /// 1.5x here; the price is up to 50 µs of CPU after each burst of work (0: sleep at once).
  explicit ThreadedClient(ClientOptions options, std::size_t io_threads = 0,
                          std::chrono::microseconds busy_poll = std::chrono::microseconds(50));
  /// Closes every connection and joins the threads. REQUIRES: not on one of them, and
  /// every coroutine started on them has ended (after close() their commands fail with
  /// Errc::cancelled: callers should stop then).
  ~ThreadedClient();
  ThreadedClient(const ThreadedClient&) = delete;
  ThreadedClient& operator=(const ThreadedClient&) = delete;

  std::size_t threads() const noexcept { return shards_.size(); }
  /// The Client of the calling I/O thread, else the next one round-robin.
  Client& local() noexcept;
  /// The Client of I/O thread i, and that thread's executor.
  Client& client(std::size_t i) noexcept;
  boost::asio::any_io_executor executor(std::size_t i) const;
  /// Starts a coroutine on the next I/O thread (round-robin); exceptions are dropped.
  void spawn(std::function<boost::asio::awaitable<void>()> fn);

  boost::asio::awaitable<Result<Client::Value>> get(std::string key) { return local().get(std::move(key)); }
  boost::asio::awaitable<Result<void>> set(std::string key, std::string value,
                                           std::chrono::milliseconds ttl = std::chrono::milliseconds(0)) {
    return local().set(std::move(key), std::move(value), ttl);
  }
  boost::asio::awaitable<Result<std::vector<Client::Value>>> mget(std::vector<std::string> keys) {
    return local().mget(std::move(keys));
  }
  boost::asio::awaitable<Result<std::int64_t>> del(std::vector<std::string> keys) {
    return local().del(std::move(keys));
  }
  boost::asio::awaitable<Result<resp::Reply>> command(resp::Command cmd, bool idempotent = false) {
    return local().command(std::move(cmd), idempotent);
  }
  boost::asio::awaitable<Result<std::vector<resp::Reply>>> pipeline(resp::Pipeline commands) {
    return local().pipeline(std::move(commands));
  }

  /// Every thread's metrics, summed (histograms merged). Called on one of its I/O threads,
  /// that thread's only (waiting for another from there could deadlock).
  ClientMetricsSnapshot metrics() const;
  /// Closes every connection (commands in flight fail with Errc::cancelled). Called on an
  /// I/O thread, the other threads' clients close shortly after it returns.
  void close();

 private:
  struct Shard;
  void stop_all() noexcept;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace swarmkeeper
