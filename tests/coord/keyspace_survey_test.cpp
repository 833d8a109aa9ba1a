// SPDX-License-Identifier: Apache-2.0
// keyspace_survey_test.cpp — inspect's rules without a server: key shapes, what the
// schema claims, unreadable heartbeats, and a suggested schema that reads a layout the
// built-in one does not know.
#include "coord/keyspace_survey.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace swarmkeeper::coord {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

const ShapeStats* find(const KeyspaceSurvey& s, const std::string& shape) {
  for (const ShapeStats* x : s.shapes())
    if (x->shape == shape) return x;
  return nullptr;
}

TEST(KeyspaceSurvey, ShapesAbstractIdsAndSayWhatTheSchemaClaims) {
  KeyspaceSurvey s(KeySchema{}, 600000);
  for (int i = 0; i < 40; ++i) {
    const std::string id = "coord-" + std::to_string(i);
    s.on_key("blocking:heartbeat:" + id);
    s.on_key("blocking:ack:" + id + ":sig-1");
    s.on_key("swarm:swarm-1:blocking:" + id);
  }
  for (const char* name : {"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa",
                           "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma"})
    s.on_key(std::string("tenant:") + name + ":config");  // ids without digits: past 16 values, one shape
  s.on_key("swarm:state:main");
  s.finish();
  ASSERT_NE(find(s, "blocking:heartbeat:*"), nullptr);
  EXPECT_EQ(find(s, "blocking:heartbeat:*")->keys, 40u);
  EXPECT_EQ(find(s, "blocking:heartbeat:*")->claimed_by, "heartbeat");
  EXPECT_EQ(find(s, "blocking:ack:*:*")->claimed_by, "ack");
  EXPECT_EQ(find(s, "swarm:*:blocking:*")->claimed_by, "swarm");
  ASSERT_NE(find(s, "swarm:state:main"), nullptr);
  EXPECT_EQ(find(s, "swarm:state:main")->claimed_by, "") << "other swarm:* keys are no family's";
  ASSERT_NE(find(s, "tenant:*:config"), nullptr);
  EXPECT_EQ(find(s, "tenant:*:config")->keys, 18u);
  // Samples: a heartbeat written with a field the schema does not name.
  const std::string custom = R"({"seenAt":)" + std::to_string(kNow - 5000) + "}";
  s.on_sample("blocking:heartbeat:coord-1", "string", 300000, &custom, kNow);
  const ShapeStats* hb = find(s, "blocking:heartbeat:*");
  EXPECT_EQ(hb->unreadable[static_cast<std::size_t>(InvalidReason::no_field)], 1u);
  EXPECT_NE(hb->hint.find("\"seenAt\""), std::string::npos) << hb->hint;
  EXPECT_EQ(hb->ms_fields, std::vector<std::string>{"seenAt"});
  EXPECT_EQ(hb->with_ttl, 1u);
}

TEST(KeyspaceSurvey, TheSuggestedSchemaReadsALayoutItHasNeverSeen) {
  KeyspaceSurvey s(KeySchema{}, 600000);
  std::vector<std::pair<std::string, std::string>> kv;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "w" + std::to_string(i), ts = std::to_string(kNow - i * 1000);
    kv.emplace_back("agents:hb:" + id, R"({"seenAt":)" + ts + "}");
    kv.emplace_back("agents:inbox:" + id, R"({"timestamp":)" + ts + "}");
    kv.emplace_back("agents:acks:" + id + ":m" + std::to_string(i), "1");
    kv.emplace_back("agents:room:r" + std::to_string(i % 3) + ":member:" + id, "x");
    kv.emplace_back("agents:log:" + ts + ":" + id + ":done", "1");
  }
  for (const auto& [k, v] : kv) s.on_key(k);
  s.finish();
  for (const auto& k : s.sample_keys())
    for (const auto& [key, v] : kv)
      if (key == k) s.on_sample(k, "string", -1, &v, kNow);
  const auto suggested = s.suggest_schema();
  const std::string path = ::testing::TempDir() + "/suggested.json";
  std::ofstream(path) << suggested.dump(2);
  auto schema = load_key_schema(path);
  ASSERT_TRUE(schema) << schema.error().message() << "\n" << suggested.dump(2);
  EXPECT_EQ(schema->heartbeat_prefix, "agents:hb:");
  EXPECT_EQ(schema->heartbeat_fields, std::vector<std::string>{"seenAt"});
  EXPECT_EQ(judge_heartbeat(kv[0].second, *schema, kNow, 600000), HeartbeatState::active);
  auto family = [&](const std::string& key) -> std::string {
    const KeyFamily* f = schema->family_of(key);
    return f ? std::string(f->match == KeyFamily::Match::exact       ? "exact"
                           : f->match == KeyFamily::Match::id_prefix ? "id_prefix"
                                                                     : "mentions") +
                   " " + std::string(*f->id_part(key))
             : "none";
  };
  EXPECT_EQ(family("agents:inbox:w3"), "exact w3");
  EXPECT_EQ(family("agents:acks:w3:m3"), "id_prefix w3:m3");
  EXPECT_EQ(family("agents:room:r1:member:w4"), "exact w4") << "a template: agents:room:{*}:member:{id}";
  EXPECT_EQ(family("agents:log:1799999990000:w1:done"), "mentions 1799999990000:w1:done");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace swarmkeeper::coord
