// SPDX-License-Identifier: Apache-2.0
// monitor_units_test.cpp — the monitor's I/O-free pieces: Prometheus text, glob
// matching, the census tally, the history ring, INFO parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "monitor/advice.hpp"
#include "monitor/census.hpp"
#include "monitor/history.hpp"
#include "monitor/http_server.hpp"
#include "monitor/notifier.hpp"
#include "monitor/prom_text.hpp"
#include "monitor/redis_info.hpp"

namespace swarmkeeper::monitor {
namespace {

TEST(PromText, FamiliesGroupedLabelsEscapedValuesAsPrometheusWritesThem) {
  std::vector<Sample> s = {
      {"a_total", {}, 3, MetricType::counter, "A\nthing", {}},
      {"b", {{"k", "q\"uo\\te\nx"}}, std::nan(""), MetricType::gauge, "B", {}},
      {"b", {{"k", "2"}}, std::numeric_limits<double>::infinity(), MetricType::gauge, "B", {}},
      {"a_total", {}, 0.1, MetricType::counter, "A", {}},
  };
  const std::string t = render_prometheus(s);
  EXPECT_EQ(t,
            "# HELP a_total A thing\n# TYPE a_total counter\na_total 3\na_total 0.1\n"
            "# HELP b B\n# TYPE b gauge\nb{k=\"q\\\"uo\\\\te\\nx\"} NaN\nb{k=\"2\"} +Inf\n");
}

TEST(PromText, BytesThatAreNotUtf8AreWrittenAsText) {
  EXPECT_EQ(prom_escape("ok \xc3\xa9 \xff\xfe \xc3"), "ok \xc3\xa9 \\\\xff\\\\xfe \\\\xc3");
  EXPECT_EQ(prom_escape("\xed\xa0\x80"), "\\\\xed\\\\xa0\\\\x80") << "a surrogate is not UTF-8";
}

// Long label values are cut at a character boundary, carry a hash of the whole, and two
// names that share their first 256 bytes stay two series.
TEST(PromText, LongLabelValuesAreBoundedAndStayDistinct) {
  EXPECT_EQ(bounded_label("bull:mail:wait"), "bull:mail:wait");
  const std::string exact(kMaxLabelBytes, 'k');
  EXPECT_EQ(bounded_label(exact), exact);
  const std::string a = std::string(100'000, 'q') + "a", b = std::string(100'000, 'q') + "b";
  const auto la = bounded_label(a), lb = bounded_label(b);
  EXPECT_LE(la.size(), kMaxLabelBytes);
  EXPECT_NE(la, lb);
  EXPECT_EQ(la, bounded_label(a)) << "the same name, the same label";
  EXPECT_EQ(la.substr(0, 10), "qqqqqqqqqq");
  // Three-byte characters: the cut never splits one.
  std::string euros;
  for (int i = 0; i < 200; ++i) euros += "\xe2\x82\xac";
  const auto le = bounded_label(euros);
  EXPECT_LE(le.size(), kMaxLabelBytes);
  EXPECT_EQ(prom_escape(le).find("\\x"), std::string::npos)
      << "no byte outside a valid sequence: " << prom_escape(le);
}

// A stray byte is written as the text \xNN; a key whose name is that text stays another
// series (regression: the two were one).
TEST(PromText, AStrayByteAndItsEscapedTextStayTwoSeries) {
  const std::string raw = "bull:\xff:wait", text = "bull:\\xff:wait";
  EXPECT_EQ(bounded_label(text), text);
  EXPECT_NE(prom_escape(bounded_label(raw)), prom_escape(bounded_label(text)));
  EXPECT_EQ(bounded_label(raw), bounded_label(raw));
  EXPECT_LE(bounded_label(raw).size(), kMaxLabelBytes);
}

// The Host rule against DNS rebinding: IP literals, localhost and configured names pass;
// other names, empty hosts and malformed ports do not.
TEST(HttpServer, HostHeadersThatNameThisServerPass) {
  const std::vector<std::string> names = {"swarm.example.com"};
  for (const char* ok : {"127.0.0.1", "127.0.0.1:9840", "10.1.2.3:80", "[::1]:9840", "[::1]", "localhost",
                         "LOCALHOST:9840", "swarm.example.com", "Swarm.Example.COM:443"})
    EXPECT_TRUE(host_allowed(ok, names)) << ok;
  for (const char* bad :
       {"", "attacker.example", "attacker.example:9840", "swarm.example.com.attacker.example",
        "localhost.attacker.example", "127.0.0.1:", "127.0.0.1:80x", "[::1", "[::1]x", "[nonsense]:80",
        ":9840", "localhost:99999999999", "[::1]:99999999999999999999", "127.0.0.1:65536"})
    EXPECT_FALSE(host_allowed(bad, names)) << bad;
  EXPECT_FALSE(host_allowed("swarm.example.com", {})) << "a name nobody configured";
}

TEST(HttpServer, OnlyLoopbackListenAddressesCountAsLoopback) {
  for (const char* lo :
       {"127.0.0.1:9840", "127.0.0.2:0", "[::1]:9840", "localhost:9840", "[::ffff:127.0.0.1]:9840"}) {
    auto r = listen_is_loopback(lo);
    ASSERT_TRUE(r) << lo;
    EXPECT_TRUE(*r) << lo;
  }
  for (const char* out :
       {"0.0.0.0:9840", "10.0.0.1:9840", "[::]:9840", "[::ffff:0.0.0.0]:9840", "[::ffff:10.0.0.1]:9840"}) {
    auto r = listen_is_loopback(out);
    ASSERT_TRUE(r) << out;
    EXPECT_FALSE(*r) << out;
  }
  EXPECT_FALSE(listen_is_loopback("nonsense"));
}

NotifiedAlert firing_alert(const std::string& name, std::int64_t at) {
  return NotifiedAlert{name, "critical", "s", "summary", "7", false, at, 0};
}

// A transition goes at once; a firing alert again every resend interval with its endsAt
// four intervals ahead; a resolved one once.
TEST(Notifier, FiringAlertsAreResentAndResolvedOnesSentOnce) {
  NotifierState n(std::chrono::milliseconds(60'000));
  EXPECT_TRUE(n.take_due(0, 0).empty());
  n.on_transition(firing_alert("A", 1000), 1000);
  EXPECT_EQ(n.next_due_ms(), 1000);
  auto batch = n.take_due(1000, 1000);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].ends_at_ms, 1000 + 240'000);
  EXPECT_TRUE(n.take_due(1000, 1000).empty()) << "in flight";
  EXPECT_TRUE(n.delivered(true, 1100).empty());
  EXPECT_EQ(n.next_due_ms(), 61'000);
  EXPECT_TRUE(n.take_due(60'000, 60'000).empty());
  batch = n.take_due(61'000, 61'000);
  ASSERT_EQ(batch.size(), 1u) << "re-sent";
  EXPECT_EQ(batch[0].ends_at_ms, 61'000 + 240'000);
  n.delivered(true, 61'000);
  auto resolved = firing_alert("A", 1000);
  resolved.resolved = true;
  resolved.ends_at_ms = 70'000;
  n.on_transition(resolved, 70'000);
  EXPECT_EQ(n.firing(), 0u);
  batch = n.take_due(70'000, 70'000);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_TRUE(batch[0].resolved);
  EXPECT_EQ(batch[0].ends_at_ms, 70'000);
  n.delivered(true, 70'000);
  EXPECT_EQ(n.next_due_ms(), std::numeric_limits<std::int64_t>::max()) << "nothing firing, nothing to send";
}

// A failed delivery is retried with backoff; what became due meanwhile joins it, each
// alert in its newest state; after the last attempt the batch is dropped and a firing
// alert comes back at its next resend.
TEST(Notifier, FailuresAreRetriedThenDroppedAndFiringAlertsComeBack) {
  NotifierState n(std::chrono::milliseconds(60'000), 3);
  n.on_transition(firing_alert("A", 0), 0);
  ASSERT_EQ(n.take_due(0, 0).size(), 1u);
  EXPECT_TRUE(n.delivered(false, 0).empty());
  EXPECT_EQ(n.next_due_ms(), 500);
  EXPECT_TRUE(n.take_due(499, 499).empty());
  n.on_transition(firing_alert("B", 300), 300);
  auto resolved_a = firing_alert("A", 0);
  resolved_a.resolved = true;
  resolved_a.ends_at_ms = 400;
  n.on_transition(resolved_a, 400);
  auto batch = n.take_due(500, 500);
  ASSERT_EQ(batch.size(), 2u);
  int a = 0, b = 0;
  for (const auto& x : batch) {
    if (x.name == "A") {
      ++a;
      EXPECT_TRUE(x.resolved) << "A's newest state";
    }
    if (x.name == "B") ++b;
  }
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_TRUE(n.delivered(false, 500).empty());
  EXPECT_EQ(n.next_due_ms(), 1500) << "1 s after the second failure";
  ASSERT_EQ(n.take_due(1500, 1500).size(), 2u);
  const auto dropped = n.delivered(false, 1500);
  EXPECT_EQ(dropped.size(), 2u) << "given up after 3 attempts";
  EXPECT_EQ(n.firing(), 1u) << "B still fires";
  EXPECT_EQ(n.next_due_ms(), 500 + 60'000) << "B's next resend, counted from its first try";
  EXPECT_TRUE(n.take_due(60'499, 60'499).empty());
  batch = n.take_due(60'500, 60'500);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].name, "B");
}

// Part of a delivery went through (one POST per alert, the second failed): only the rest
// is retried, and only the rest can be dropped. The schedule runs on the monotonic clock,
// endsAt on the wall clock.
TEST(Notifier, APartlyDeliveredBatchRetriesOnlyWhatFailed) {
  NotifierState n(std::chrono::milliseconds(60'000), 2);
  n.on_transition(firing_alert("A", 0), 0);
  n.on_transition(firing_alert("B", 0), 0);
  auto batch = n.take_due(10, 1'000'000);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].ends_at_ms, 1'000'000 + 240'000) << "endsAt from the wall clock";
  EXPECT_TRUE(n.delivered(false, 10, 1).empty());
  batch = n.take_due(510, 1'000'500);
  ASSERT_EQ(batch.size(), 1u) << "the one that went through is not sent again";
  const auto dropped = n.delivered(false, 510, 0);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].name, batch[0].name);
  EXPECT_EQ(n.next_due_ms(), 10 + 60'000) << "both come back at their resend, on the monotonic clock";
}

TEST(Webhook, UrlsAndCredentials) {
  auto t = parse_webhook_url("https://alice:s3cret@am.example:9093/api/v2/alerts");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->url, "https://am.example:9093/api/v2/alerts");
  EXPECT_EQ(t->authorization, "Basic YWxpY2U6czNjcmV0");
  EXPECT_TRUE(parse_webhook_url("http://127.0.0.1:9093/hook"));
  for (const char* bad : {"ftp://x/", "http://", "http://h:0/", "https://:pw@h/", "nonsense",
                          "http://h/#frag", "http://127.0.0.1:99999/hook", "http://h:123456/",
                          "http://alice:hunter2@mypassword@127.0.0.1:1/hook"}) {
    auto r = parse_webhook_url(bad);
    EXPECT_FALSE(r) << bad;
  }
  auto two_ats = parse_webhook_url("http://alice:hunter2@mypassword@127.0.0.1:1/hook");
  ASSERT_FALSE(two_ats);
  EXPECT_NE(two_ats.error().message().find("%40"), std::string::npos) << two_ats.error().message();
  EXPECT_EQ(two_ats.error().message().find("hunter2"), std::string::npos) << two_ats.error().message();
  EXPECT_EQ(two_ats.error().message().find("mypassword"), std::string::npos) << two_ats.error().message();
  EXPECT_TRUE(parse_webhook_url("http://h/hooks?team=a@b")) << "an '@' in the query is no password";
  auto secret = parse_webhook_url("ftp://bob:hunter2@h/");
  ASSERT_FALSE(secret);
  EXPECT_EQ(secret.error().message().find("hunter2"), std::string::npos) << secret.error().message();
  EXPECT_EQ(redact_url("http://u:p@h:1/x"), "http://h:1/x");
  EXPECT_EQ(redact_url("http://u:secret@h:1/x?y@z").find("secret"), std::string::npos);
  // A password that breaks the URL ('#', '?', '/' unescaped) never shows in the refusal.
  for (const char* broken : {"http://alice:pa#ss@am:9093/api/v2/alerts", "http://alice:pa?ss@am:9093/x",
                             "https://alice:pa#s/s@am/x"}) {
    auto r = parse_webhook_url(broken);
    const std::string shown = r ? r->url : r.error().message();
    EXPECT_EQ(shown.find("pa"), std::string::npos) << broken << " -> " << shown;
  }
  EXPECT_EQ(redact_url("http://h/x"), "http://h/x");
  EXPECT_EQ(authorization_from_text("Bearer abc.def\n").value(), "Bearer abc.def");
  EXPECT_EQ(authorization_from_text("alice:s3cret").value(), "Basic YWxpY2U6czNjcmV0");
  EXPECT_EQ(authorization_from_text("a:b c").value(),
            "Basic "
            "YTpiIGM=")
      << "a password may hold a space";
  EXPECT_FALSE(authorization_from_text(""));
  EXPECT_FALSE(authorization_from_text("token-without-scheme"));
  EXPECT_FALSE(authorization_from_text("a:b\nc:d"));
}

TEST(CensusTally, CountsStatesAgesFamiliesAndQueues) {
  KeySchema schema;
  CensusTally t(schema, 600000, {"bull:*:wait"});
  const std::int64_t now = 1'800'000'000'000;
  EXPECT_TRUE(t.on_key("blocking:heartbeat:a"));
  EXPECT_TRUE(t.on_key("blocking:heartbeat:b"));
  EXPECT_TRUE(t.on_key("blocking:heartbeat:c"));
  EXPECT_TRUE(t.on_key("blocking:heartbeat:d"));
  EXPECT_FALSE(t.on_key("blocking:signal:a"));
  EXPECT_FALSE(t.on_key("bull:mail:wait"));
  EXPECT_FALSE(t.on_key("random"));
  const std::string fresh = "{\"timestamp\":" + std::to_string(now - 5000) + "}";
  const std::string old = "{\"timestamp\":" + std::to_string(now - 700000) + "}";
  const std::string future = "{\"timestamp\":" + std::to_string(now + 5000) + "}";
  const std::string junk = "{}";
  t.on_heartbeat(&fresh, now);
  t.on_heartbeat(&old, now);
  t.on_heartbeat(&future, now);
  t.on_heartbeat(&junk, now);
  t.on_heartbeat(nullptr, now);
  const auto& r = t.result();
  EXPECT_EQ(r.active, 1u);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(r.future, 1u);
  EXPECT_EQ(r.invalid, 1u);
  EXPECT_EQ(r.age_buckets[0], 1u);  // 5 s
  EXPECT_EQ(r.age_buckets[5], 1u);  // 700 s: (600, 1800]
  EXPECT_EQ(r.keys_per_family.at("heartbeat"), 4u);
  EXPECT_EQ(r.keys_per_family.at("signal"), 1u);
  EXPECT_EQ(r.keys_per_family.at("other"), 2u);
  ASSERT_EQ(t.queue_keys().size(), 1u);
  EXPECT_EQ(t.queue_keys()[0], "bull:mail:wait");
}

// Ownership by the cleanup's structural rule, whichever comes first in the scan: the
// family key or its coordinator's heartbeat.
TEST(CensusTally, OrphanAndAmbiguousKeysAreCountedInEitherOrder) {
  KeySchema schema;
  CensusTally t(schema, 600000, {});
  t.on_key("blocking:signal:early");  // before its heartbeat: settled at finish()
  t.on_key("blocking:heartbeat:early");
  t.on_key("blocking:heartbeat:late");
  t.on_key("blocking:signal:late");             // after its heartbeat
  t.on_key("blocking:signal:nobody");           // names an absent coordinator
  t.on_key("blocking:idempotency:x:nobody:1");  // one of its idempotency records
  t.on_key("blocking:idempotency:zzz:init");    // names nobody at all: an orphan
  t.on_key("swarm:s1:blocking:gone");           // a template family: another absent one
  t.on_key("swarm:state:s1");                   // no family's
  t.on_key("blocking:heartbeat:a");
  t.on_key("blocking:heartbeat:a:b");
  t.on_key("blocking:ack:a:b:task");                 // id_prefix: "a" and "a:b" both have heartbeats
  t.on_key("blocking:ack:late:task");                // one owner
  t.on_key("blocking:ack:" + std::string(40, ':'));  // too many separators to list
  t.finish();
  const auto& r = t.result();
  EXPECT_EQ(r.orphan_keys, 1u);
  EXPECT_EQ(r.ambiguous_keys, 2u);
  EXPECT_EQ(r.unchecked_keys, 0u);
  EXPECT_EQ(r.absent, 2u) << "nobody, gone";
  EXPECT_EQ(r.absent_keys, 3u);
}

// A coordinator is alive while any liveness record is fresh: the cleanup's rule.
TEST(CensusTally, LivenessRecordsOfOneIdAreJudgedTogether) {
  KeySchema schema;
  CensusTally t(schema, 600000, {});
  const std::int64_t now = 1'800'000'000'000;
  const std::string old_hb = R"({"lastHeartbeat":)" + std::to_string(now - 700000) + "}";
  const std::string fresh_act = R"({"lastActivity":)" + std::to_string(now - 1000) + "}";
  const std::string old_act = std::to_string(now - 900000);
  EXPECT_TRUE(t.on_key("blocking:heartbeat:a"));
  EXPECT_TRUE(t.on_key("coordinator:activity:a"));
  EXPECT_TRUE(t.on_key("coordinator:activity:b"));  // no heartbeat writer at all
  EXPECT_TRUE(t.on_key("blocking:heartbeat:c"));
  EXPECT_TRUE(t.on_key("coordinator:activity:c"));
  t.on_liveness("blocking:heartbeat:a", &old_hb, now);
  t.on_liveness("coordinator:activity:a", &fresh_act, now);
  t.on_liveness("coordinator:activity:b", &fresh_act, now);
  t.on_liveness("blocking:heartbeat:c", &old_hb, now);
  t.on_liveness("coordinator:activity:c", &old_act, now);
  t.finish();
  EXPECT_EQ(t.result().active, 2u) << "a by its activity, b by activity alone";
  EXPECT_EQ(t.result().stale, 1u);
  EXPECT_EQ(t.result().absent, 0u);
}

TEST(History, KeepsTheLastPointsPerSeriesOldestFirst) {
  History h(3);
  for (int i = 0; i < 5; ++i) h.append("s", i * 1000, i);
  auto all = h.read("s", 0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].first, 2000);
  EXPECT_EQ(all[2].second, 4);
  EXPECT_EQ(h.read("s", 3500).size(), 1u);
  EXPECT_TRUE(h.read("absent", 0).empty());
  for (std::size_t i = 0; i < History::kMaxSeries + 10; ++i) h.append("x" + std::to_string(i), 0, 0);
  EXPECT_EQ(h.series(), History::kMaxSeries);
}

// The cleanup's, the benches' and the monitor's reads of INFO go through one parser.
TEST(RedisInfo, CpuAndClusterModeReadByField) {
  EXPECT_DOUBLE_EQ(
      net::info_cpu_seconds("# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.25\r\nused_cpu_sys_children:9\r\n"),
      3.75);
  EXPECT_DOUBLE_EQ(net::info_cpu_seconds("# CPU\r\n"), 0);
  EXPECT_TRUE(net::info_says_cluster("# Cluster\r\ncluster_enabled:1\r\n"));
  EXPECT_FALSE(net::info_says_cluster("# Cluster\r\ncluster_enabled:0\r\n"));
  EXPECT_FALSE(net::info_says_cluster("# Cluster\r\ncluster_enabled:10\r\n")) << "a field is read whole";
  EXPECT_FALSE(net::info_says_cluster("my_cluster_enabled:1\r\n"));
}

TEST(RedisInfo, ParsesFieldsListsAndMakesSamples) {
  const std::string text =
      "# Memory\r\nused_memory:1000\r\nmaxmemory:4000\r\n# Stats\r\ntotal_commands_processed:200\r\n"
      "total_error_replies:4\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\n# Commandstats\r\n"
      "cmdstat_get:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=1\r\n"
      "# Keyspace\r\ndb0:keys=7,expires=0,avg_ttl=0\r\n";
  auto info = net::parse_info(text);
  EXPECT_DOUBLE_EQ(info.number("used_memory"), 1000);
  EXPECT_DOUBLE_EQ(info.number("absent"), 0);
  auto prev = net::parse_info("total_commands_processed:100\r\ntotal_error_replies:2\r\n");
  auto samples = redis_samples(info, prev);
  auto value = [&](const std::string& series) {
    for (const auto& s : samples)
      if (s.series() == series) return s.value;
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(value("swarmkeeper_redis_memory_used_ratio"), 0.25);
  EXPECT_DOUBLE_EQ(value("swarmkeeper_redis_error_ratio"), 0.02);
  EXPECT_DOUBLE_EQ(value("swarmkeeper_redis_keyspace_hit_ratio"), 0.75);
  EXPECT_DOUBLE_EQ(value("swarmkeeper_redis_command_calls_total{cmd=\"get\"}"), 10);
  EXPECT_DOUBLE_EQ(value("swarmkeeper_redis_db_keys{db=\"0\"}"), 7);
}

TEST(Advice, TrendsAndTheRulesOfThumb) {
  History h(100);
  const std::int64_t t0 = 1'000'000;
  const std::string stale = "swarmkeeper_coordinators{state=\"stale\"}";
  const std::string p95 = "swarmkeeper_probe_latency_seconds{quantile=\"0.95\"}";
  for (int i = 0; i <= 10; ++i) {  // 10 minutes, a point a minute
    h.append(stale, t0 + i * 60000, 100.0 + 10 * i);
    h.append(p95, t0 + i * 60000, 0.001 * (1 + i));
    h.append("swarmkeeper_redis_ops_per_second", t0 + i * 60000, 1000);
  }
  const std::int64_t now = t0 + 600000;
  auto a = advise(h, {{"swarmkeeper_redis_memory_used_ratio", 0.95}}, {{"maxmemory_policy", "noeviction"}},
                  now, 3600000);
  EXPECT_DOUBLE_EQ(a.trends_per_minute.at(stale), 10);
  ASSERT_EQ(a.recommendations.size(), 3u);
  EXPECT_NE(a.recommendations[0].find("grew by 100"), std::string::npos) << a.recommendations[0];
  EXPECT_NE(a.recommendations[0].find("no cleanup run is recorded"), std::string::npos);
  EXPECT_NE(a.recommendations[1].find("noeviction"), std::string::npos);
  EXPECT_NE(a.recommendations[2].find("throughput stayed flat"), std::string::npos);
  // A recent successful cleanup, evicting memory, and a window under a minute: nothing to say.
  auto quiet = advise(
      h,
      {{"swarmkeeper_cleanup_last_success_age_seconds", 60}, {"swarmkeeper_redis_memory_used_ratio", 0.95}},
      {{"maxmemory_policy", "allkeys-lru"}}, now, 30000);
  EXPECT_TRUE(quiet.recommendations.empty());
  EXPECT_TRUE(quiet.trends_per_minute.empty());
}

}  // namespace
}  // namespace swarmkeeper::monitor
