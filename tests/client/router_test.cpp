// SPDX-License-Identifier: Apache-2.0
// router_test.cpp — one piece of code against Router, run on one real server and on a
// real 3-master cluster, both opened by open_router() from a plain redis:// URL: the
// typed commands, compression, pipelines, transactions and keyless commands answer the
// same on both, and both refuse the same bad input.
#include <gtest/gtest.h>

#include <map>

#include "net/redis_process.hpp"
#include "support/redis_fixture.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/client/cluster_client.hpp"
#include "swarmkeeper/client/router.hpp"

namespace swarmkeeper {
namespace {

namespace asio = boost::asio;

using swarmkeeper::testing::BlockingClient;
using swarmkeeper::testing::run;

// What the same calls answered, by name, for comparing one server with a cluster.
using Answers = std::map<std::string, std::string>;

// A count, or -1 for a failure.
std::string count(const Result<std::int64_t>& r) {
  return std::to_string(r ? *r : -1);
}

std::string shown(const Result<resp::Reply>& r) {
  return r ? resp::to_string(r->root()) : "error " + r.error().message();
}

// The code a caller writes once: no branch on where it runs.
Answers exercise(asio::io_context& io, Router& r) {
  Answers a;
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) keys.push_back("rk" + std::to_string(i));  // spread over every master
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& k : keys) pairs.emplace_back(k, "v-" + k);
  a["mset"] = run(io, r.mset(pairs)) ? "ok" : "failed";
  auto values = run(io, r.mget(keys));
  std::string joined;
  if (values)
    for (const auto& v : *values) joined += v.value_or("(nil)") + ",";
  a["mget"] = values ? joined : "error " + values.error().message();
  a["exists"] = count(run(io, r.exists(keys)));
  const std::string big(6000, 'j');  // compressed on the way in, whole on the way out
  a["set big"] = run(io, r.set("rbig", big)) ? "ok" : "failed";
  auto back = run(io, r.get("rbig"));
  a["get big"] = back && *back && **back == big ? "same" : "different";
  auto stored = run(io, r.command(resp::Command("STRLEN").arg("rbig"), true));
  a["stored smaller"] = stored && stored->integer() < static_cast<std::int64_t>(big.size()) ? "yes" : "no";
  auto missing = run(io, r.get("rmissing"));
  a["get missing"] = !missing ? "error" : *missing ? **missing : "(nil)";
  auto neg = run(io, r.set("rneg", "x", std::chrono::milliseconds(-1)));
  a["negative ttl"] =
      neg ? "accepted" : std::string(neg.error().code() == Errc::invalid_argument ? "refused" : "failed");
  auto expired = run(io, r.expire("rk1", std::chrono::seconds(100)));
  a["expire"] = !expired ? "error" : *expired ? "set" : "no key";
  a["eval"] = shown(run(io, r.eval("return ARGV[1] .. KEYS[1]", {"{t}a"}, {"x"})));
  auto loaded = run(
      io,
      r.for_each_master(resp::Command("SCRIPT").arg("LOAD").arg("return KEYS[1]")));  // keyless: every master
  a["script load"] = loaded.empty() ? "none" : shown(loaded.front());
  if (!loaded.empty() && loaded.front())
    a["evalsha"] = shown(run(io, r.evalsha(std::string(loaded.front()->str()), {"{t}b"}, {})));
  a["publish"] = count(run(io, r.publish("rchannel", "hello")));
  std::vector<resp::Command> p;
  for (int i = 0; i < 20; ++i) p.push_back(resp::Command("INCR").arg("rctr" + std::to_string(i)));
  p.push_back(resp::Command("LPUSH").arg("rk2").arg("x"));  // a wrong-type error stays in place
  auto replies = run(io, r.pipeline(p));
  std::string pr;
  if (replies)
    for (const auto& x : *replies)
      pr += x.is_error() ? std::string("error,") : resp::to_string(x.root()) + ",";
  a["pipeline"] = replies ? pr : "error " + replies.error().message();
  a["transaction"] = shown(
      run(io, r.transaction({resp::Command("SET").arg("{t}x").arg("1"), resp::Command("INCR").arg("{t}x")})));
  std::int64_t total = 0;
  for (auto& one : run(io, r.for_each_master(resp::Command("DBSIZE")))) total += one ? one->integer() : -1000;
  a["dbsize"] = std::to_string(total);
  a["del"] = count(run(io, r.del(keys)));
  a["unlink"] = count(run(io, r.unlink({"rbig", "rk1"})));
  a["exists after"] = count(run(io, r.exists(keys)));
  // No keys: nothing sent, the same answer on both (a server refuses MGET and the rest
  // with no key).
  auto none = run(io, r.mget({}));
  a["mget none"] = none ? std::to_string(none->size()) : "error " + none.error().message();
  a["mset none"] = run(io, r.mset({})) ? "ok" : "failed";
  a["del none"] = count(run(io, r.del({})));
  a["unlink none"] = count(run(io, r.unlink({})));
  a["exists none"] = count(run(io, r.exists({})));
  // Many keys in one call: all back, in order.
  std::vector<std::pair<std::string, std::string>> many;
  std::vector<std::string> many_keys;
  for (int i = 0; i < 20000; ++i) {
    many_keys.push_back("rm" + std::to_string(i));
    many.emplace_back(many_keys.back(), std::to_string(i));
  }
  a["mset many"] = run(io, r.mset(many)) ? "ok" : "failed";
  auto back_many = run(io, r.mget(many_keys));
  bool in_order = back_many && back_many->size() == many.size();
  for (std::size_t i = 0; in_order && i < many.size(); ++i) in_order = (*back_many)[i] == many[i].second;
  a["mget many"] = in_order ? "in order" : "wrong";
  a["unlink many"] = count(run(io, r.unlink(many_keys)));
  return a;
}

class RouterTest : public swarmkeeper::testing::RedisClusterTest {};

TEST_F(RouterTest, TheSameCodeAnswersTheSameOnOneServerAndOnACluster) {
  auto single = RedisProcess::start();
  ASSERT_TRUE(single) << single.error().message();
  ClientOptions one;
  one.connection.port = (*single)->port();
  ClientOptions many;
  many.connection = node(1);  // a plain URL to one cluster node: the whole cluster is used
  auto r1 = run(io_, open_router(io_.get_executor(), one));
  auto r2 = run(io_, open_router(io_.get_executor(), many));
  ASSERT_TRUE(r1) << r1.error().message();
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ((*r1)->masters().size(), 1u);
  EXPECT_EQ((*r2)->masters().size(), 3u) << "open_router saw a cluster node behind a plain URL";
  const Answers a1 = exercise(io_, **r1), a2 = exercise(io_, **r2);
  EXPECT_EQ(a1, a2);
  EXPECT_EQ(a1.at("exists"), "50");
  EXPECT_EQ(a1.at("expire"), "set");
  EXPECT_EQ(a1.at("get missing"), "(nil)");
  EXPECT_EQ(a1.at("get big"), "same");
  EXPECT_EQ(a1.at("stored smaller"), "yes");
  EXPECT_EQ(a1.at("negative ttl"), "refused");
  EXPECT_EQ(a1.at("eval"), "\"x{t}a\"");
  EXPECT_EQ(a1.at("exists after"), "0");
  EXPECT_EQ(a1.at("mget none"), "0");
  EXPECT_EQ(a1.at("mset none"), "ok");
  EXPECT_EQ(a1.at("del none"), "0");
  EXPECT_EQ(a1.at("mget many"), "in order");
  EXPECT_EQ(a1.at("unlink many"), "20000");
  EXPECT_EQ(a1.at("dbsize"), "72");  // 50 + rbig + 20 counters + {t}x
  EXPECT_EQ(a1.at("del"), "50");
  EXPECT_EQ(a1.at("unlink"), "1");
  // What is left on the cluster's masters, counted on each: the counters and {t}x.
  std::int64_t on_cluster = 0;
  for (std::size_t i = 0; i < 3; ++i) on_cluster += BlockingClient(node(i))("DBSIZE").integer();
  EXPECT_EQ(on_cluster, 21);
  (*r1)->close();
  (*r2)->close();
}

TEST_F(RouterTest, OpenRouterFailsWithTheReasonWhenNothingAnswers) {
  ClientOptions gone;
  gone.connection.port = 1;  // nothing listens on port 1
  gone.connection.connect_timeout = std::chrono::milliseconds(500);
  auto r = run(io_, open_router(io_.get_executor(), gone));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::connection_refused) << r.error().message();
  ClientOptions seeds;
  seeds.connection.port = 1;
  seeds.connection.cluster = true;  // a redis+cluster:// URL whose seeds are all gone
  seeds.connection.connect_timeout = std::chrono::milliseconds(500);
  auto c = run(io_, open_router(io_.get_executor(), seeds));
  EXPECT_FALSE(c);
}

TEST_F(RouterTest, OnAClusterAScriptsKeysMustShareASlotAndKeylessCommandsGoToEveryMaster) {
  ClientOptions many;
  many.connection = cluster();
  auto r = run(io_, open_router(io_.get_executor(), many));
  ASSERT_TRUE(r) << r.error().message();
  auto cross = run(io_, (*r)->eval("return 1", {"{a}1", "{b}2"}, {}));
  ASSERT_FALSE(cross);
  EXPECT_EQ(cross.error().code(), Errc::invalid_argument);
  EXPECT_NE(cross.error().message().find("CROSSSLOT"), std::string::npos);
  auto keyless = run(io_, (*r)->command(resp::Command("DBSIZE")));
  ASSERT_FALSE(keyless);
  EXPECT_EQ(keyless.error().code(), Errc::invalid_argument) << "a keyless command names for_each_master()";
  EXPECT_EQ(run(io_, (*r)->for_each_master(resp::Command("PING"))).size(), 3u);
  (*r)->close();
}

}  // namespace
}  // namespace swarmkeeper
