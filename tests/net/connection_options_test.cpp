// SPDX-License-Identifier: Apache-2.0
// connection_options_test.cpp — redis:// URLs, environment precedence, password masking.
#include "swarmkeeper/net/connection_options.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace swarmkeeper {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(RedisUrl, ParsesEveryPart) {
  auto o = parse_redis_url("redis://alice:s3cr%40t@redis.example:6380/4");
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->host, "redis.example");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->username, "alice");
  EXPECT_EQ(o->password, "s3cr@t");
  EXPECT_EQ(o->db, 4);
  EXPECT_FALSE(o->tls.enabled);
  EXPECT_EQ(o->display(), "redis://alice:***@redis.example:6380/4");
}

TEST(RedisUrl, DefaultsPasswordOnlyIpv6AndTls) {
  auto plain = parse_redis_url("redis://localhost");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  auto pw = parse_redis_url("redis://:only-pw@127.0.0.1:7000");
  ASSERT_TRUE(pw);
  EXPECT_EQ(pw->username, "");
  EXPECT_EQ(pw->password, "only-pw");
  auto v6 = parse_redis_url("redis://[::1]:6390/1");
  ASSERT_TRUE(v6) << v6.error().message();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->display(), "redis://[::1]:6390/1");
  auto tls = parse_redis_url("rediss://h:6380?cacert=/etc/ca.pem&sni=redis.internal");
  ASSERT_TRUE(tls) << tls.error().message();
  EXPECT_TRUE(tls->tls.enabled);
  EXPECT_TRUE(tls->tls.verify);
  EXPECT_EQ(tls->tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(tls->tls.server_name, "redis.internal");
}

TEST(RedisUrl, RejectsBadInputWithoutLeakingThePassword) {
  for (const char* bad : {"http://h:1", "redis://u:pw-leak@h:notaport", "redis://u:pw-leak@h:0",
                          "redis://u:pw-leak@h:1/x", "redis://h/1?color=blue", "not a url"}) {
    auto o = parse_redis_url(bad);
    ASSERT_FALSE(o) << bad;
    EXPECT_EQ(o.error().code(), Errc::invalid_argument);
    EXPECT_EQ(o.error().message().find("pw-leak"), std::string::npos) << o.error().message();
  }
}

TEST(ConnectionPrecedence, FlagBeatsUrlBeatsVariablesBeatsDefault) {
  auto env = fake_env({{"REDIS_URL", "redis://from-url:1111/1"},
                       {"REDIS_HOST", "from-vars"},
                       {"REDIS_PORT", "2222"},
                       {"REDIS_DB", "2"},
                       {"REDIS_PASSWORD", "pw"}});
  auto flag = resolve_connection_options(std::string("redis://from-flag:3333/3"), env);
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->host, "from-flag");
  auto url = resolve_connection_options(std::nullopt, env);
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "from-url");
  EXPECT_EQ(url->port, 1111);
  auto vars = resolve_connection_options(std::nullopt, fake_env({{"REDIS_HOST", "from-vars"},
                                                                 {"REDIS_PORT", "2222"},
                                                                 {"REDIS_DB", "2"},
                                                                 {"REDIS_PASSWORD", "pw"}}));
  ASSERT_TRUE(vars);
  EXPECT_EQ(vars->host, "from-vars");
  EXPECT_EQ(vars->port, 2222);
  EXPECT_EQ(vars->db, 2);
  EXPECT_EQ(vars->password, "pw");
  auto none = resolve_connection_options(std::nullopt, fake_env({}));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->host, "127.0.0.1");
  EXPECT_EQ(none->port, 6379);
  EXPECT_EQ(none->db, 0);
}

TEST(ConnectionPrecedence, BadVariablesAreNamedInTheError) {
  auto port = resolve_connection_options(std::nullopt, fake_env({{"REDIS_PORT", "abc"}}));
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message().find("REDIS_PORT"), std::string::npos);
  auto url = resolve_connection_options(std::nullopt, fake_env({{"REDIS_URL", "ftp://x"}}));
  ASSERT_FALSE(url);
  EXPECT_NE(url.error().message().find("REDIS_URL"), std::string::npos);
}

TEST(ConnectionPrecedence, PasswordFromAFileWhenNoneIsGivenOtherwise) {
  const std::string path = ::testing::TempDir() + "/redis-password";
  { std::ofstream(path) << "from-file\n"; }
  auto o = resolve_connection_options(std::nullopt, fake_env({{"REDIS_PASSWORD_FILE", path}}));
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->password, "from-file");
  auto explicit_pw =
      resolve_connection_options(std::string("redis://:given@h"), fake_env({{"REDIS_PASSWORD_FILE", path}}));
  EXPECT_EQ(explicit_pw->password, "given");
  auto missing =
      resolve_connection_options(std::nullopt, fake_env({{"REDIS_PASSWORD_FILE", "/no/such/file"}}));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("REDIS_PASSWORD_FILE"), std::string::npos);
}

}  // namespace
}  // namespace swarmkeeper

namespace swarmkeeper {
namespace {

TEST(RedisUrl, APasswordWithASlashOrQuestionMarkNeverShowsInTheError) {
  for (const char* url : {"redis://admin:1234/SECRETPART@127.0.0.1:6380",
                          "redis://admin:pw?db=SECRET@127.0.0.1:6380", "redis://u:pw#SECRET@h:1"}) {
    auto r = parse_redis_url(url);
    if (r) continue;  // parsed as something harmless: nothing echoed
    EXPECT_EQ(r.error().message().find("SECRET"), std::string::npos) << r.error().message();
  }
}

TEST(ConnectionPrecedence, RedisPasswordAppliesToAUrlWithoutOne) {
  auto o =
      resolve_connection_options(std::string("redis://h:1/0"), fake_env({{"REDIS_PASSWORD", "from-env"}}));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->password, "from-env");
  auto given = resolve_connection_options(std::string("redis://:in-url@h:1/0"),
                                          fake_env({{"REDIS_PASSWORD", "from-env"}}));
  EXPECT_EQ(given->password, "in-url") << "the URL's own password wins";
  auto via_env_url = resolve_connection_options(
      std::nullopt, fake_env({{"REDIS_URL", "redis://h:1"}, {"REDIS_PASSWORD", "p"}}));
  EXPECT_EQ(via_env_url->password, "p");
}

TEST(ConnectionPrecedence, APasswordFileThatIsADirectoryOrUnreadableIsAnError) {
  for (const char* path : {"/tmp", "/no/such/file"}) {
    auto r = resolve_connection_options(std::nullopt, fake_env({{"REDIS_PASSWORD_FILE", path}}));
    ASSERT_FALSE(r) << path;
    EXPECT_NE(r.error().message().find("REDIS_PASSWORD_FILE"), std::string::npos);
  }
}

TEST(ClusterUrl, SeedsPasswordAndDatabaseFromACommaSeparatedList) {
  auto o = parse_redis_url("redis+cluster://alice:s3cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0");
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_TRUE(o->cluster);
  EXPECT_EQ(o->host, "10.0.0.1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->username, "alice");
  EXPECT_EQ(o->password, "s3cret");
  ASSERT_EQ(o->cluster_seeds.size(), 2u);
  EXPECT_EQ(o->cluster_seeds[0], (std::pair<std::string, std::uint16_t>{"10.0.0.2", 7001}));
  EXPECT_EQ(o->cluster_seeds[1], (std::pair<std::string, std::uint16_t>{"::1", 7002}));
  auto tls = parse_redis_url("rediss+cluster://h:7000");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls.enabled);
  EXPECT_TRUE(tls->cluster);
  auto flag = parse_redis_url("redis://h:7000/?cluster=1");
  ASSERT_TRUE(flag);
  EXPECT_TRUE(flag->cluster);
  EXPECT_FALSE(parse_redis_url("redis://h:7000/?cluster=maybe"));
  for (const char* bad :
       {"redis+cluster://", "redis+cluster://u:pw@", "redis+cluster://,h:1", "redis+cluster://h:7000,",
        "redis+cluster://h:7000,h2", "redis+cluster://h:7000,h2:0", "redis+cluster://h:7000,h2:99999",
        "redis+cluster://u:pw@h:70000"}) {
    auto r = parse_redis_url(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().message().find("pw@"), std::string::npos) << r.error().message();
    }
  }
}

}  // namespace
}  // namespace swarmkeeper
