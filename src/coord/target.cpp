// SPDX-License-Identifier: Apache-2.0
// target.cpp — see target.hpp.
#include "coord/target.hpp"

namespace swarmkeeper::coord {

namespace asio = boost::asio;

namespace {

class NodeTarget final : public Target, public std::enable_shared_from_this<NodeTarget> {
 public:
  NodeTarget(asio::any_io_executor ex, std::shared_ptr<net::Connection> conn, ConnectionOptions options)
      : ex_(std::move(ex)), conn_(std::move(conn)), options_(std::move(options)) {}
  asio::awaitable<Result<resp::Reply>> exec(const resp::Command& cmd) override { return conn_->exec(cmd); }
  asio::awaitable<Result<std::vector<resp::Reply>>> exec(std::vector<resp::Command> cmds) override {
    resp::Pipeline p;
    for (const auto& c : cmds) p.add(c);
    co_return co_await conn_->exec(p);
  }
  bool is_open() const override { return conn_->is_open(); }
  asio::awaitable<Result<std::shared_ptr<Target>>> reopen() override {
    if (conn_->is_open()) co_return std::shared_ptr<Target>(shared_from_this());
    ConnectionOptions o = options_;
    o.connect_timeout = std::min<std::chrono::milliseconds>(o.connect_timeout, std::chrono::milliseconds(2000));
    o.command_timeout = std::chrono::milliseconds(2000);
    auto fresh = co_await net::Connection::open(ex_, o);
    if (!fresh) co_return fresh.error();
    co_return std::shared_ptr<Target>(std::make_shared<NodeTarget>(ex_, *fresh, options_));
  }
  void close() override { conn_->close(); }

 private:
  asio::any_io_executor ex_;
  std::shared_ptr<net::Connection> conn_;
  ConnectionOptions options_;
};

class ClusterTarget final : public Target, public std::enable_shared_from_this<ClusterTarget> {
 public:
  explicit ClusterTarget(std::shared_ptr<ClusterClient> client) : client_(std::move(client)) {}
  asio::awaitable<Result<resp::Reply>> exec(const resp::Command& cmd) override { return client_->command(cmd); }
  asio::awaitable<Result<std::vector<resp::Reply>>> exec(std::vector<resp::Command> cmds) override {
    co_return co_await client_->pipeline(std::move(cmds));
  }
  bool is_open() const override { return !closed_; }
  asio::awaitable<Result<std::shared_ptr<Target>>> reopen() override { co_return std::shared_ptr<Target>(shared_from_this()); }
  void close() override {
    closed_ = true;
    client_->close();
  }

 private:
  std::shared_ptr<ClusterClient> client_;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<Target> node_target(asio::any_io_executor ex, std::shared_ptr<net::Connection> conn, ConnectionOptions options) {
  return std::make_shared<NodeTarget>(std::move(ex), std::move(conn), std::move(options));
}

std::shared_ptr<Target> cluster_target(std::shared_ptr<ClusterClient> client) {
  return std::make_shared<ClusterTarget>(std::move(client));
}

}  // namespace swarmkeeper::coord
