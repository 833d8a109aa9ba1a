// SPDX-License-Identifier: Apache-2.0
// redis_fixture.cpp — see redis_fixture.hpp.
#include "support/redis_fixture.hpp"

namespace swarmkeeper::testing {

std::unique_ptr<RedisProcess> RedisTest::server_;

std::unique_ptr<RedisProcess> start_server(RedisProcessOptions options) {
  auto server = RedisProcess::start(std::move(options));
  if (!server) {
    ADD_FAILURE() << "cannot start redis-server: " << server.error().message();
    return nullptr;
  }
  return std::move(*server);
}

void RedisTest::SetUpTestSuite() {
  server_ = start_server();
}
void RedisTest::TearDownTestSuite() {
  server_.reset();
}

void RedisTest::SetUp() {
  ASSERT_TRUE(server_ && server_->running()) << "no redis-server for this suite";
  auto conn = connect();
  ASSERT_TRUE(conn);
  auto r = run(io_, conn->exec(resp::Command("FLUSHALL")));
  ASSERT_TRUE(r) << r.error().message();
}

ConnectionOptions RedisTest::options() {
  ConnectionOptions o;
  o.port = server_->port();
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.command_timeout = std::chrono::milliseconds(10000);
  return o;
}

std::shared_ptr<net::Connection> RedisTest::connect(ConnectionOptions opts) {
  auto conn = run(io_, net::Connection::open(io_.get_executor(), std::move(opts)));
  if (!conn) {
    ADD_FAILURE() << "connect failed: " << conn.error().message();
    return nullptr;
  }
  return *conn;
}

}  // namespace swarmkeeper::testing

namespace swarmkeeper::testing {

BlockingClient::BlockingClient(ConnectionOptions opts) {
  opts.client_name = "swarmkeeper-test";
  auto c = run(io_, net::Connection::open(io_.get_executor(), opts));
  if (!c) {
    ADD_FAILURE() << "test client cannot connect: " << c.error().message();
    return;
  }
  conn_ = *c;
}

resp::Reply BlockingClient::cmd(const resp::Command& c) {
  if (!conn_) return {};
  auto r = run(io_, conn_->exec(c));
  if (!r) {
    ADD_FAILURE() << "test command failed: " << r.error().message();
    return {};
  }
  return std::move(*r);
}

std::int64_t BlockingClient::now_ms() {
  auto t = cmd(resp::Command("TIME"));
  return *t[0].as_integer() * 1000 + *t[1].as_integer() / 1000;
}

}  // namespace swarmkeeper::testing

namespace swarmkeeper::testing {

std::unique_ptr<RedisCluster> RedisClusterTest::cluster_;
std::string RedisClusterTest::failure_;

void RedisClusterTest::SetUpTestSuite() {
  auto c = RedisCluster::start(3);
  if (!c) {
    failure_ = c.error().message();
    return;
  }
  cluster_ = std::move(*c);
}

void RedisClusterTest::TearDownTestSuite() {
  cluster_.reset();
}

void RedisClusterTest::SetUp() {
  ASSERT_TRUE(cluster_) << "the test cluster did not start: " << failure_;
  for (std::size_t i = 0; i < cluster_->nodes().size(); ++i) BlockingClient(node(i))("FLUSHALL");
}

ConnectionOptions RedisClusterTest::node(std::size_t i) {
  ConnectionOptions o;
  o.port = cluster_->nodes()[i]->port();
  return o;
}

ConnectionOptions RedisClusterTest::cluster() {
  ConnectionOptions o = node(0);
  o.cluster = true;
  o.cluster_seeds = {{"127.0.0.1", cluster_->nodes()[1]->port()}};
  return o;
}

std::string RedisClusterTest::cluster_url() {
  return "redis+cluster://127.0.0.1:" + std::to_string(cluster_->nodes()[0]->port());
}

std::int64_t RedisClusterTest::total_keys() {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < cluster_->nodes().size(); ++i) n += BlockingClient(node(i))("DBSIZE").integer();
  return n;
}

}  // namespace swarmkeeper::testing
