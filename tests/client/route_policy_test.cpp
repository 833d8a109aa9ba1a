// SPDX-License-Identifier: Apache-2.0
// route_policy_test.cpp — server error replies classified once (code and redirect
// target), and the cluster client's next step after a failure, decided with made-up
// errors: no cluster needed.
#include <gtest/gtest.h>

#include "client/route_policy.hpp"
#include "swarmkeeper/error.hpp"

namespace swarmkeeper::client {
namespace {

using namespace std::chrono_literals;

Error from_reply(const std::string& text) {
  Error e(Errc::server_error, "the server replied: " + text);
  e.from_server(classify_server_error(text));
  return e;
}

TEST(ServerError, MovedAndAskCarryTheirTarget) {
  auto m = classify_server_error("MOVED 3999 127.0.0.1:6381");
  EXPECT_EQ(m.code, ServerCode::moved);
  ASSERT_TRUE(m.redirect);
  EXPECT_FALSE(m.redirect->ask);
  EXPECT_EQ(m.redirect->slot, 3999);
  EXPECT_EQ(m.redirect->host, "127.0.0.1");
  EXPECT_EQ(m.redirect->port, 6381);
  auto a = classify_server_error("ASK 12 [::1]:7000");
  EXPECT_EQ(a.code, ServerCode::ask);
  ASSERT_TRUE(a.redirect);
  EXPECT_TRUE(a.redirect->ask);
  EXPECT_EQ(a.redirect->host, "::1");
  auto unknown = classify_server_error("MOVED 5 :7001");  // unknown endpoint: the host asked
  ASSERT_TRUE(unknown.redirect);
  EXPECT_EQ(unknown.redirect->host, "");
  EXPECT_EQ(unknown.redirect->port, 7001);
  for (const char* bad :
       {"MOVED", "MOVED 99999 h:1", "MOVED 1 h", "MOVED 1 h:0", "MOVED x h:1", "NOTMOVED 1 h:1",
        "ASK 1 h:99999", "ERR script said MOVED 1 h:1"}) {  // only the reply's own code counts
    const auto e = classify_server_error(bad);
    EXPECT_FALSE(e.redirect) << bad;
    EXPECT_EQ(e.code, ServerCode::other) << bad;
  }
}

TEST(ServerError, TheCodesAClientDecidesOn) {
  EXPECT_EQ(classify_server_error("TRYAGAIN Multiple keys request during rehashing of slot").code,
            ServerCode::try_again);
  EXPECT_EQ(classify_server_error("CLUSTERDOWN The cluster is down").code, ServerCode::cluster_down);
  EXPECT_EQ(classify_server_error("CROSSSLOT Keys in request don't hash to the same slot").code,
            ServerCode::cross_slot);
  EXPECT_EQ(classify_server_error("NOPROTO unsupported protocol version").code, ServerCode::no_proto);
  EXPECT_EQ(classify_server_error("ERR unknown command 'HELLO', with args beginning with: ").code,
            ServerCode::unknown_command);
  EXPECT_EQ(classify_server_error("ERR wrong number of arguments").code, ServerCode::other);
  EXPECT_EQ(classify_server_error("WRONGTYPE Operation against a key").code, ServerCode::wrong_type);
  EXPECT_EQ(classify_server_error("WRONGTYPEX").code, ServerCode::other);
  EXPECT_EQ(classify_server_error("").code, ServerCode::other);
  EXPECT_EQ(Error(Errc::timeout, "x").server_code(), ServerCode::none);
  // A copy keeps its redirect.
  const Error moved = from_reply("MOVED 1 h:2");
  const Error copy = moved;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test
  ASSERT_TRUE(copy.redirect());
  EXPECT_EQ(copy.redirect()->port, 2);
}

TEST(RoutePolicy, MovedRefreshesTheMapAndFollows) {
  const auto a = next_route_action(0, 5, from_reply("MOVED 7 10.0.0.2:7001"), true);
  EXPECT_TRUE(a.retry);
  ASSERT_TRUE(a.to);
  EXPECT_EQ(a.to->host, "10.0.0.2");
  EXPECT_FALSE(a.to->ask);
  EXPECT_TRUE(a.refresh);
  EXPECT_TRUE(a.moved);
  EXPECT_EQ(a.wait, 0ms);
}

TEST(RoutePolicy, AskFollowsOnceWithoutTouchingTheMap) {
  const auto a = next_route_action(1, 5, from_reply("ASK 7 10.0.0.3:7002"), false);
  EXPECT_TRUE(a.retry) << "ASK: the command did not run; even a non-idempotent one goes";
  ASSERT_TRUE(a.to);
  EXPECT_TRUE(a.to->ask);
  EXPECT_FALSE(a.refresh);
  EXPECT_TRUE(a.asked);
}

TEST(RoutePolicy, ASlotMovingBackAndForthWaitsFromTheThirdAttempt) {
  const Error e = from_reply("MOVED 7 10.0.0.2:7001");
  EXPECT_EQ(next_route_action(1, 16, e, true).wait, 0ms);
  EXPECT_EQ(next_route_action(2, 16, e, true).wait, 40ms);
  EXPECT_EQ(next_route_action(3, 16, e, true).wait, 80ms);
  EXPECT_EQ(next_route_action(15, 16, e, true).wait, 640ms) << "capped";
}

TEST(RoutePolicy, TryAgainAndClusterDownWaitRefreshAndRetry) {
  for (const char* text : {"TRYAGAIN x", "CLUSTERDOWN x"}) {
    const auto first = next_route_action(0, 5, from_reply(text), false);
    EXPECT_TRUE(first.retry) << text;
    EXPECT_FALSE(first.to);
    EXPECT_TRUE(first.refresh);
    EXPECT_EQ(first.wait, 25ms);
    EXPECT_EQ(next_route_action(4, 16, from_reply(text), false).wait, 400ms);
    EXPECT_EQ(next_route_action(9, 16, from_reply(text), false).wait, 800ms);
  }
}

TEST(RoutePolicy, AnUnreachableNodeIsMarkedAndOnlyAnIdempotentCommandGoesAgain) {
  for (Errc c :
       {Errc::connection_refused, Errc::connection_lost, Errc::timeout, Errc::dns_failure, Errc::io_error}) {
    const Error e(c, "node gone");
    const auto again = next_route_action(0, 5, e, true);
    EXPECT_TRUE(again.retry);
    EXPECT_TRUE(again.mark_unreachable);
    EXPECT_TRUE(again.refresh);
    const auto once = next_route_action(0, 5, e, false);
    EXPECT_FALSE(once.retry) << "it may have run: never sent twice";
    EXPECT_TRUE(once.mark_unreachable);
  }
}

TEST(RoutePolicy, OtherErrorsAndTooManyRedirectsGiveUp) {
  EXPECT_FALSE(next_route_action(0, 5, from_reply("WRONGTYPE x"), true).retry);
  EXPECT_FALSE(next_route_action(0, 5, from_reply("CROSSSLOT x"), true).retry);
  EXPECT_FALSE(next_route_action(0, 5, Error(Errc::auth_failed, "x"), true).retry);
  EXPECT_FALSE(next_route_action(0, 5, Error(Errc::server_error, "ERR said MOVED 1 h:1"), true).retry)
      << "a message that merely mentions MOVED is no redirect";
  EXPECT_FALSE(next_route_action(5, 5, from_reply("MOVED 7 h:1"), true).retry);
  EXPECT_TRUE(routed_elsewhere(from_reply("ASK 1 h:1")));
  EXPECT_TRUE(routed_elsewhere(from_reply("TRYAGAIN")));
  EXPECT_FALSE(routed_elsewhere(from_reply("ERR x")));
}

}  // namespace
}  // namespace swarmkeeper::client
