// SPDX-License-Identifier: Apache-2.0
// web_config_test.cpp — the exporter-toolkit web config as the toolkit reads it (strict,
// messages naming file and key), basic auth against bcrypt, and the login throttle.
#include <crypt.h>
#include <gtest/gtest.h>

#include <cmath>

#include <chrono>
#include <string>
#include <vector>

#include "monitor/web_auth.hpp"
#include "monitor/web_config.hpp"

namespace swarmkeeper::monitor {
namespace {

using namespace std::chrono_literals;

std::string bcrypt(const std::string& password, int cost = 4) {
  crypt_data data{};
  const char* setting = crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost), nullptr, 0, data.setting,
                                         sizeof data.setting);
  return crypt_r(password.c_str(), setting, &data);
}

std::string error_of(const std::string& yaml) {
  auto r = parse_web_config(yaml, "/etc/sk/web.yml");
  return r ? std::string("(accepted)") : r.error().message();
}

TEST(WebConfig, TheToolkitsExampleReadsWithPathsFromTheFilesDirectory) {
  const std::string hash = bcrypt("secret");
  auto r = parse_web_config(
      "tls_server_config:\n  cert_file: server.crt\n  key_file: /abs/server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
      "  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
      "  curve_preferences: [X25519, CurveP256]\n  client_allowed_sans: [scraper.example]\n"
      "http_server_config:\n  http2: true\n  headers:\n    Strict-Transport-Security: max-age=60\n"
      "basic_auth_users:\n  prometheus: " +
          hash + "\n",
      "/etc/sk/web.yml");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->tls);
  EXPECT_EQ(r->tls->cert_file, "/etc/sk/server.crt");
  EXPECT_EQ(r->tls->key_file, "/abs/server.key");
  EXPECT_EQ(r->tls->client_ca_file, "/etc/sk/ca.crt");
  EXPECT_EQ(r->tls->client_auth, ClientAuth::require_and_verify);
  EXPECT_EQ(r->tls->min_version, 13);
  EXPECT_EQ(r->tls->cipher_suites, std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"});
  EXPECT_EQ(r->tls->curves, (std::vector<std::string>{"X25519", "P-256"}));
  EXPECT_EQ(r->users.at("prometheus"), hash);
  ASSERT_EQ(r->headers.size(), 1u);
  EXPECT_EQ(r->headers[0].first, "Strict-Transport-Security");
  EXPECT_EQ(r->watched_files(), (std::vector<std::string>{"/etc/sk/web.yml", "/etc/sk/server.crt",
                                                          "/abs/server.key", "/etc/sk/ca.crt"}));
}

TEST(WebConfig, AnEmptyFileOrEmptyTlsSectionIsPlainHttp) {
  for (const char* text :
       {"", "# nothing\n", "tls_server_config:\n", "tls_server_config:\n  cert_file: \"\"\n"}) {
    auto r = parse_web_config(text, "w.yml");
    ASSERT_TRUE(r) << text << ": " << r.error().message();
    EXPECT_FALSE(r->tls) << text;
    EXPECT_TRUE(r->users.empty());
  }
}

TEST(WebConfig, EachProblemNamesTheFileAndTheKey) {
  const std::string ok_tls = "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n";
  const struct {
    std::string yaml, key;
  } cases[] = {
      {"tls_server_config:\n  cert_file: a.crt\n", "tls_server_config.key_file: missing"},
      {"tls_server_config:\n  key_file: a.key\n", "tls_server_config.cert_file: missing"},
      {ok_tls + "  min_version: TLS14\n", "tls_server_config.min_version: 'TLS14'"},
      {ok_tls + "  min_version: TLS13\n  max_version: TLS12\n", "tls_server_config.max_version: is below"},
      {ok_tls + "  client_auth_type: RequireAndVerify\n",
       "tls_server_config.client_auth_type: 'RequireAndVerify'"},
      {ok_tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "tls_server_config.client_ca_file: missing"},
      {ok_tls + "  client_ca_file: ca.crt\n", "tls_server_config.client_ca_file: set, but"},
      {ok_tls + "  cipher_suites: [RC4]\n", "tls_server_config.cipher_suites: 'RC4'"},
      {ok_tls + "  curve_preferences: [P-256]\n", "tls_server_config.curve_preferences: 'P-256'"},
      {ok_tls + "  cert: inline\n", "tls_server_config.cert: unknown key"},
      {ok_tls + "  cert_file: b.crt\n", "appears twice"},
      {"basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users:\n  alice: $1$abc$def\n", "basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users: [alice]\n", "basic_auth_users: expected a mapping"},
      {"http_server_config:\n  headers:\n    Set-Cookie: x\n",
       "http_server_config.headers.Set-Cookie: not a header"},
      {"http_server_config:\n  http2: maybe\n", "http_server_config.http2: expected true or false"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: \"DENY\\x01\"\n", "without control characters"},
      {"basic_auth_user:\n  alice: x\n", "basic_auth_user: unknown key"},
      {"tls_server_config: [\n", "line 2"},
      {"just a string\n", "expected a mapping"},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_NE(e.find("--web-config /etc/sk/web.yml: "), std::string::npos) << c.yaml << " -> " << e;
    EXPECT_NE(e.find(c.key), std::string::npos) << c.yaml << " -> " << e;
  }
}

TEST(WebConfig, AFileThatCannotBeReadIsNamed) {
  auto r = load_web_config("/nonexistent/web.yml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/nonexistent/web.yml: cannot read it"), std::string::npos);
}

TEST(WebConfig, OnlyHashesTheSystemsCryptTakesAreBcrypt) {
  EXPECT_TRUE(is_bcrypt_hash(bcrypt("x")));
  std::string h = bcrypt("x");
  h[2] = 'b';
  EXPECT_TRUE(is_bcrypt_hash(h));
  EXPECT_FALSE(is_bcrypt_hash(""));
  EXPECT_FALSE(is_bcrypt_hash(h.substr(0, 59)));
  EXPECT_FALSE(is_bcrypt_hash("$2y$99$" + h.substr(7)));  // cost out of range
  EXPECT_FALSE(is_bcrypt_hash("$2y$31$" + h.substr(7))) << "days per login: refused, and refused quickly";
  EXPECT_FALSE(is_bcrypt_hash("$2y$18$" + h.substr(7)));
  EXPECT_TRUE(is_bcrypt_hash("$2y$17$" + h.substr(7)));
  EXPECT_FALSE(is_bcrypt_hash(h.substr(0, 59) + "!"));
  EXPECT_FALSE(is_bcrypt_hash("$6$" + h.substr(3)));
}

TEST(Base64, RoundTripsAndRefusesWhatIsNotBase64) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "user:pässword", std::string("\0\xff:", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("ab=c"));
  EXPECT_FALSE(base64_decode("a==="));
  EXPECT_FALSE(base64_decode("ab!d"));
  EXPECT_FALSE(base64_decode("=abc"));
}

TEST(BasicAuth, RightWrongMissingAndMalformed) {
  const BasicAuth auth({{"alice", bcrypt("s3cret")}, {"bob", bcrypt("other")}});
  EXPECT_TRUE(auth.enabled());
  EXPECT_EQ(auth.check("Basic " + base64_encode("alice:s3cret")), BasicAuth::Outcome::ok);
  EXPECT_EQ(auth.check("basic " + base64_encode("alice:s3cret")),
            BasicAuth::Outcome::ok);  // the scheme in any case
  EXPECT_EQ(auth.check("Basic " + base64_encode("alice:other")), BasicAuth::Outcome::wrong);
  EXPECT_EQ(auth.check("Basic " + base64_encode("bob:s3cret")), BasicAuth::Outcome::wrong);
  EXPECT_EQ(auth.check("Basic " + base64_encode("mallory:s3cret")), BasicAuth::Outcome::wrong);
  EXPECT_EQ(auth.check("Basic " + base64_encode("alice:s3cret\n")), BasicAuth::Outcome::wrong);
  EXPECT_EQ(auth.check("Basic " + base64_encode("alice:")), BasicAuth::Outcome::wrong);
  EXPECT_EQ(auth.check(""), BasicAuth::Outcome::missing);
  EXPECT_EQ(auth.check("Bearer abc"), BasicAuth::Outcome::missing);
  EXPECT_EQ(auth.check("Basic !!!!"), BasicAuth::Outcome::malformed);
  EXPECT_EQ(auth.check("Basic " + base64_encode("alice")), BasicAuth::Outcome::malformed);
}

TEST(BasicAuth, ASuccessIsRememberedAFailureNever) {
  const BasicAuth auth({{"alice", bcrypt("s3cret", 8)}});
  const std::string right = "Basic " + base64_encode("alice:s3cret");
  const std::string wrong = "Basic " + base64_encode("alice:s3creT");
  EXPECT_FALSE(auth.quick_check(right));
  EXPECT_EQ(auth.check(right), BasicAuth::Outcome::ok);
  EXPECT_EQ(auth.quick_check(right), BasicAuth::Outcome::ok);
  EXPECT_EQ(auth.check(wrong), BasicAuth::Outcome::wrong);
  EXPECT_FALSE(auth.quick_check(wrong));
  EXPECT_FALSE(auth.quick_check("Basic " + base64_encode("mallory:x")));  // an unknown user costs a bcrypt
  EXPECT_EQ(auth.quick_check(""), BasicAuth::Outcome::missing);
  EXPECT_EQ(auth.quick_check("Basic %%%%"), BasicAuth::Outcome::malformed);
  // Regression: extra spaces after the scheme were read one way by the quick check and
  // another by the full one, which then ran bcrypt on the server's thread.
  EXPECT_FALSE(auth.quick_check("Basic   " + base64_encode("alice:s3creT")));
  EXPECT_EQ(auth.quick_check("Basic   " + base64_encode("alice:s3cret")), BasicAuth::Outcome::ok);
  // A success carries over to the config that replaces this one, for the same hash only.
  const BasicAuth same({{"alice", bcrypt("s3cret", 8)}}, &auth);
  EXPECT_FALSE(same.quick_check(right)) << "a new hash for alice: checked again";
}

TEST(BasicAuth, ARememberedSuccessSurvivesAReloadThatKeepsTheHash) {
  const std::string hash = bcrypt("s3cret", 4);
  const BasicAuth before({{"alice", hash}});
  const std::string right = "Basic " + base64_encode("alice:s3cret");
  ASSERT_EQ(before.check(right), BasicAuth::Outcome::ok);
  const BasicAuth after({{"alice", hash}, {"bob", bcrypt("x", 4)}}, &before);
  EXPECT_EQ(after.quick_check(right), BasicAuth::Outcome::ok);
}

TEST(BasicAuth, PasswordsBcryptCannotHoldNeverMatch) {
  const std::string long_pw(72, 'p');
  const BasicAuth auth({{"alice", bcrypt("secret")}, {"bob", bcrypt(long_pw)}});
  EXPECT_EQ(auth.check("Basic " + base64_encode(std::string("alice:secret\0junk", 17))),
            BasicAuth::Outcome::wrong);
  EXPECT_EQ(auth.check("Basic " + base64_encode("bob:" + long_pw)), BasicAuth::Outcome::ok);
  EXPECT_EQ(auth.check("Basic " + base64_encode("bob:" + long_pw + "x")), BasicAuth::Outcome::wrong)
      << "bcrypt reads 72 bytes: a longer password would match on its prefix";
}

TEST(BasicAuth, AnUnknownUserCostsAsMuchAsAKnownOne) {
  const BasicAuth auth({{"alice", bcrypt("s3cret", 9)}});
  auto time = [&](const std::string& credentials) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) (void)auth.check("Basic " + base64_encode(credentials));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const double known = time("alice:wrong"), unknown = time("mallory:wrong");
  // Both run bcrypt at cost 9 (~25 ms each); a cost-10 dummy would take twice as long,
  // a missing one almost nothing.
  EXPECT_GT(unknown, known * 0.5) << known << " s vs " << unknown << " s";
  EXPECT_LT(unknown, known * 1.6) << known << " s vs " << unknown << " s";
}

// Users at different costs: an unknown name costs one of them, by a keyed hash of the
// name, so neither a quick nor a slow answer tells a name exists (each unknown name was
// checked at the first user's cost: a cost-12 user answered 258 ms, any unknown 3 ms).
TEST(BasicAuth, UnknownNamesTakeTheCostOfSomeUserWhateverTheCosts) {
  const BasicAuth auth({{"alice", bcrypt("a", 4)}, {"zed", bcrypt("z", 9)}});
  auto time = [&](const std::string& user) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)auth.check("Basic " + base64_encode(user + ":wrong"));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const double quick = time("alice"), slow = time("zed");
  ASSERT_GT(slow, quick * 4) << "cost 9 against cost 4";
  const double middle = std::sqrt(quick * slow);
  int quick_names = 0, slow_names = 0;
  for (int i = 0; i < 40; ++i) (time("nobody" + std::to_string(i)) < middle ? quick_names : slow_names)++;
  EXPECT_GE(quick_names, 5) << slow_names << " slow";
  EXPECT_GE(slow_names, 5) << quick_names << " quick";
}

TEST(AuthThrottle, FreeAtFirstThenDoublingThenForgotten) {
  AuthThrottle t;
  const auto t0 = AuthThrottle::Clock::now();
  EXPECT_EQ(t.delay("10.0.0.1", t0), 0ms);
  for (int i = 0; i < AuthThrottle::kFree; ++i) t.failed("10.0.0.1", t0);
  EXPECT_EQ(t.delay("10.0.0.1", t0), 250ms);
  t.failed("10.0.0.1", t0);
  EXPECT_EQ(t.delay("10.0.0.1", t0), 500ms);
  for (int i = 0; i < 20; ++i) t.failed("10.0.0.1", t0);
  EXPECT_EQ(t.delay("10.0.0.1", t0), 10000ms);
  EXPECT_EQ(t.delay("10.0.0.2", t0), 0ms) << "another source is not slowed";
  EXPECT_EQ(t.delay("10.0.0.1", t0 + AuthThrottle::kForget + 1s), 0ms);
  for (int i = 0; i < AuthThrottle::kFree + 1; ++i) t.failed("10.0.0.3", t0);
  EXPECT_EQ(t.delay("10.0.0.3", t0), 500ms);
  t.succeeded("10.0.0.3");
  EXPECT_EQ(t.delay("10.0.0.3", t0), 0ms);
  EXPECT_TRUE(t.clean("10.0.0.3", t0));
  t.failed("10.0.0.3", t0);
  EXPECT_FALSE(t.clean("10.0.0.3", t0));
  EXPECT_TRUE(t.clean("10.0.0.3", t0 + AuthThrottle::kForget + 1s));
}

TEST(AuthThrottle, ManySourcesStayBounded) {
  AuthThrottle t;
  const auto t0 = AuthThrottle::Clock::now();
  for (int i = 0; i < AuthThrottle::kFree; ++i) t.failed("busy", t0 + 1h);
  for (std::size_t i = 0; i < AuthThrottle::kMaxSources + 100; ++i) t.failed("s" + std::to_string(i), t0);
  EXPECT_LE(t.sources(), AuthThrottle::kMaxSources);
  EXPECT_EQ(t.delay("busy", t0 + 1h), 250ms) << "the newest failing source is kept";
}

TEST(AuthThrottle, ForgottenSourcesMakeRoomBeforeTheQuietestOne) {
  AuthThrottle t;
  const auto t0 = AuthThrottle::Clock::now();
  for (int i = 0; i < AuthThrottle::kFree + 1; ++i) t.failed("old", t0);  // forgotten by t1
  const auto t1 = t0 + AuthThrottle::kForget + 1s;
  for (int i = 0; i < AuthThrottle::kFree; ++i) t.failed("quiet", t1);
  for (std::size_t i = 0; t.sources() < AuthThrottle::kMaxSources; ++i)
    t.failed("s" + std::to_string(i), t1 + 1s);
  t.failed("new", t1 + 2s);
  EXPECT_EQ(t.delay("quiet", t1 + 2s), 250ms)
      << "a source still on record was dropped while a forgotten one was kept";
  EXPECT_LE(t.sources(), AuthThrottle::kMaxSources);
}

TEST(AuthThrottle, OneCheckASourceAtATime) {
  AuthThrottle t;
  const auto t0 = AuthThrottle::Clock::now();
  EXPECT_TRUE(t.clean("10.0.0.1", t0));
  ASSERT_TRUE(t.begin_check("10.0.0.1"));
  EXPECT_FALSE(t.begin_check("10.0.0.1")) << "a second guess in parallel";
  EXPECT_TRUE(t.checking("10.0.0.1"));
  EXPECT_FALSE(t.clean("10.0.0.1", t0)) << "a source with a check under way is not served first";
  EXPECT_TRUE(t.begin_check("10.0.0.2"));
  t.end_check("10.0.0.1");
  EXPECT_FALSE(t.checking("10.0.0.1"));
  EXPECT_TRUE(t.clean("10.0.0.1", t0));
  EXPECT_TRUE(t.begin_check("10.0.0.1"));
}

// The shipped example reads as it is, but for the hash the operator must put in.
TEST(WebConfig, TheShippedExampleWantsOnlyARealHash) {
  auto r = load_web_config(SWARMKEEPER_SOURCE_DIR "/deploy/web-config.yml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(
                "basic_auth_users.prometheus: not a bcrypt hash of cost 4-17; make one with 'swarmkeeper "
                "hash-password'"),
            std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace swarmkeeper::monitor
