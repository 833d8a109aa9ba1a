// SPDX-License-Identifier: Apache-2.0
// redis_process.hpp — a private redis-server for tests, `demo` and `bench`.
//
// start() runs redis-server (from PATH) on a free loopback port in a fresh temporary
// directory with persistence off, and returns once the server logs that it accepts
// connections. The server is stopped (SIGTERM, then SIGKILL) and its directory removed
// when the RedisProcess is destroyed; if this process dies first, the kernel kills the
// server too (PR_SET_PDEATHSIG), so nothing is left running. It never uses port 6379.
//
// With tls = true it generates a throw-away CA, server and client certificate with the
// openssl command and serves TLS only.
//
//   auto server = RedisProcess::start({});
//   if (!server) die(server.error().message());
//   connect_to((*server)->url());
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "swarmkeeper/error.hpp"

namespace swarmkeeper {

struct RedisProcessOptions {
  /// Extra server arguments, e.g. {"--requirepass", "pw"} or {"--user", "alice on >pw ~* +@all"}.
  std::vector<std::string> extra_args;
  /// Serve TLS (certificates generated in the temp dir) instead of plain TCP. Default off.
  bool tls = false;
  /// How long to wait for the server to accept connections. Default 10 s.
  std::chrono::milliseconds start_timeout{10000};
  /// The server executable, looked up in PATH. Default "redis-server".
  std::string executable = "redis-server";
  /// A cluster node (--cluster-enabled yes, its nodes.conf in its own directory, a
  /// 2 s node timeout); its port is chosen so that the bus port (+10000) is free too.
  bool cluster_node = false;
};

class RedisProcess {
 public:
  /// Starts a server. Fails with Errc::io_error (redis-server missing, would not start:
  /// the message quotes its log) or Errc::timeout.
  static Result<std::unique_ptr<RedisProcess>> start(RedisProcessOptions options = {});
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  /// Stops the server (idempotent). Its directory stays until destruction.
  void stop();
  /// Starts the server again on the same port (after stop(), or kills it first).
  Result<void> restart();

  std::uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0; }
  /// redis://127.0.0.1:PORT (rediss://...?cacert=... with TLS).
  std::string url() const;
  const std::string& dir() const noexcept { return dir_; }
  /// With tls: the generated CA, and a client certificate + key it signed.
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string client_cert_file() const { return dir_ + "/client.crt"; }
  std::string client_key_file() const { return dir_ + "/client.key"; }
  /// The last lines of the server's log (for error messages).
  std::string log_tail(std::size_t lines = 10) const;

 private:
  RedisProcess() = default;
  Result<void> launch();

  RedisProcessOptions opts_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// A private Redis Cluster on loopback: `masters` nodes (at least 3), each with
/// `replicas_per_master` replicas, created with `redis-cli --cluster create` and ready
/// (cluster_state:ok on every node) when start() returns. Stopped (every node, by pid)
/// when it goes away, even after a failed start.
class RedisCluster {
 public:
  static Result<std::unique_ptr<RedisCluster>> start(int masters = 3, int replicas_per_master = 0);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  /// Every node, masters first (as created).
  const std::vector<std::unique_ptr<RedisProcess>>& nodes() const noexcept { return nodes_; }
  /// redis://127.0.0.1:PORT of the first node (a seed for cluster clients).
  std::string seed_url() const;
  /// Stops every node.
  void stop();

 private:
  RedisCluster() = default;
  std::vector<std::unique_ptr<RedisProcess>> nodes_;
};

}  // namespace swarmkeeper
