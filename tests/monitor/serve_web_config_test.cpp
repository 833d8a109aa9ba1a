// SPDX-License-Identifier: Apache-2.0
// serve_web_config_test.cpp — `serve --web-config` as an operator deploys it: certificates
// from a throwaway CA (openssl), bcrypt users from `swarmkeeper hash-password`, requests
// made by curl, a stock Prometheus scraping over https with basic auth, the dashboard in
// headless Chromium over https with credentials, and the file changed under a running
// serve.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>

#include "monitor/serve_fixture.hpp"
#include "support/cli_runner.hpp"
#include "support/test_pki.hpp"

namespace swarmkeeper {
namespace {

using namespace std::chrono_literals;
using swarmkeeper::testing::Child;
using swarmkeeper::testing::free_port;
using swarmkeeper::testing::http_get;
using swarmkeeper::testing::http_raw;
using swarmkeeper::testing::run_cli;
using swarmkeeper::testing::ServeTest;
using swarmkeeper::testing::slurp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;

struct CurlReply {
  int status = 0;       ///< 0: no HTTP answer (refused, TLS failed)
  std::string headers;  ///< as received, lower-cased names not promised
  std::string body;
  std::string said;  ///< curl's own error message, if any
};

class WebConfigTest : public ServeTest {
 protected:
  void SetUp() override {
    ServeTest::SetUp();
    pki_ = swarmkeeper::testing::make_test_pki(tmp_ / "pki");
    ASSERT_TRUE(pki_.error.empty()) << pki_.error;
  }
  // curl with `args` (a shell fragment); -w gives the status, the rest is curl's error.
  CurlReply curl(const std::string& args) {
    // Files of its own: calls may run at once (an event stream on another thread).
    const std::string n = std::to_string(++calls_);
    const std::string h = (tmp_ / ("curl" + n + ".headers")).string(),
                      b = (tmp_ / ("curl" + n + ".body")).string();
    const std::string cmd =
        "curl -sS --max-time 10 -D '" + h + "' -o '" + b + "' -w '%{http_code}' " + args + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
    CurlReply r;
    if (out.size() >= 3) {
      r.status = std::atoi(out.substr(out.size() - 3).c_str());
      r.said = out.substr(0, out.size() - 3);
    }
    r.headers = slurp(h);
    r.body = slurp(b);
    return r;
  }
  std::string https(const std::string& path) const {
    return "'https://127.0.0.1:" + std::to_string(port_) + path + "'";
  }
  std::string ca() const { return "--cacert '" + pki_.ca_cert + "' "; }
  // A bcrypt hash of `password`, made as an operator makes one.
  std::string hash_password(const std::string& password) {
    const auto f = tmp_ / "password.txt";
    std::ofstream(f) << password << "\n";
    auto r = run_cli("hash-password --cost 4 < '" + f.string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::string h = r.out;
    while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
    return h;
  }
  // Writes the web config beside the certificates (its paths relative to it).
  std::string write_web_config(const std::string& text) {
    auto p = (fs::path(pki_.ca_cert).parent_path() / "web.yml").string();
    const auto tmp = p + ".new";
    std::ofstream(tmp) << text;
    fs::rename(tmp, p);  // whole, as an editor or a deploy tool writes it
    return p;
  }
  // Polls until pred(curl(args)) or the timeout.
  template <class Pred>
  bool eventually(const std::string& args, Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (pred(curl(args))) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  static std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
  // A TLS connection kept alive across a change, as a scraper keeps one: node asks
  // HEAD /healthz at once (answer(): its status line), and again once go() is called
  // (answer() again: the status line, or "closed" when the server closed it unanswered).
  class KeptConnection {
   public:
    KeptConnection(const WebConfigTest& t, bool client_cert)
        : go_(t.tmp_ / ("go" + std::to_string(++t.kept_))) {
      const std::string script =
          "const tls=require('tls'),fs=require('fs');const [port,ca,cert,key,go]=process.argv.slice(1);"
          "const "
          "o={host:'127.0.0.1',port:+port,ca:fs.readFileSync(ca)};if(cert){o.cert=fs.readFileSync(cert);"
          "o.key=fs.readFileSync(key)}const s=tls.connect(o);let buf='',first=true;"
          "const out=(t,end)=>process.stdout.write(t+'\\n',()=>{if(end)process.exit(0)});"
          "const ask=()=>s.write('HEAD /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n');"
          "s.on('secureConnect',ask);s.on('data',d=>{buf+=d;if(!buf.includes('\\r\\n\\r\\n'))return;"
          "const "
          "line=buf.split('\\r\\n')[0];buf='';if(!first){out(line,true);return}first=false;out(line,false);"
          "const t=setInterval(()=>{if(fs.existsSync(go)){clearInterval(t);ask()}},50)});"
          "s.on('close',()=>out('closed',true));s.on('error',e=>out('error '+e.code,true));"
          "setTimeout(()=>out('timeout',true),30000);";
      const std::string cert =
          client_cert ? "'" + t.pki_.client_cert + "' '" + t.pki_.client_key + "'" : "'' ''";
      const std::string cmd = "node -e \"" + script + "\" " + std::to_string(t.port_) + " '" +
                              t.pki_.ca_cert + "' " + cert + " '" + go_.string() + "' 2>&1";
      p_ = ::popen(cmd.c_str(), "r");
    }
    ~KeptConnection() {
      if (p_) {
        go();
        ::pclose(p_);
      }
    }
    std::string answer() {
      char line[256] = {};
      if (!p_ || !std::fgets(line, sizeof line, p_)) return "(nothing)";
      std::string s(line);
      if (!s.empty() && s.back() == '\n') s.pop_back();
      return s;
    }
    void go() { std::ofstream(go_) << "1"; }

   private:
    fs::path go_;
    FILE* p_ = nullptr;
  };

  swarmkeeper::testing::TestPki pki_;
  std::atomic<int> calls_{0};
  mutable int kept_ = 0;
};

constexpr const char* kTls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

TEST_F(WebConfigTest, TlsAndBasicAuthTheExporterToolkitWay) {
  const auto web = write_web_config(std::string(kTls) +
                                    "basic_auth_users:\n  prometheus: " + hash_password("s3cret") + "\n");
  ASSERT_NE(
      start({"--listen", "0.0.0.0:0", "--web-config", web, "--web-public", "/healthz", "--refresh", "300ms"}),
      0);
  const std::string user = "-u prometheus:s3cret ";

  auto none = curl(ca() + https("/metrics"));
  EXPECT_EQ(none.status, 401) << none.said;
  EXPECT_NE(none.headers.find("WWW-Authenticate: Basic realm=\"swarmkeeper\""), std::string::npos)
      << none.headers;
  EXPECT_EQ(none.body.find("swarmkeeper_"), std::string::npos);
  EXPECT_EQ(curl(ca() + "-u prometheus:wrong " + https("/metrics")).status, 401);
  EXPECT_EQ(curl(ca() + "-u nobody:s3cret " + https("/metrics")).status, 401);
  auto right = curl(ca() + user + https("/metrics"));
  EXPECT_EQ(right.status, 200) << right.said;
  EXPECT_NE(right.body.find("swarmkeeper_web_tls 1"), std::string::npos);
  EXPECT_NE(right.body.find("swarmkeeper_web_insecure 0"), std::string::npos);
  // Every endpoint needs credentials but what the operator made public.
  EXPECT_EQ(curl(ca() + https("/healthz")).status, 200);
  EXPECT_EQ(curl(ca() + https("/healthz?probe=1")).status, 200);
  EXPECT_EQ(curl(ca() + https("/readyz")).status, 401);
  EXPECT_EQ(curl(ca() + https("/")).status, 401);
  EXPECT_EQ(curl(ca() + https("/api/snapshot")).status, 401);
  auto head = curl(ca() + "-I " + https("/metrics"));
  EXPECT_EQ(head.status, 401);
  // (-I writes the head where the body would go: nothing may follow it.)
  EXPECT_EQ(head.body.substr(head.body.find("\r\n\r\n") + 4), "")
      << "a HEAD answer has no body: " << head.body;
  EXPECT_EQ(curl(ca() + "-N --max-time 2 " + https("/events")).status, 401);
  auto events = curl(ca() + user + "-N --max-time 2 " + https("/events"));
  EXPECT_EQ(events.status, 200);
  EXPECT_NE(events.body.find("event: snapshot"), std::string::npos) << events.said;
  auto page = curl(ca() + user + https("/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("Content-Security-Policy:"), std::string::npos);

  // Plain HTTP to the TLS port is told so, and gets nothing else.
  const std::string plain = http_raw(port_, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_NE(plain.find("400 Bad Request"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("swarmkeeper_"), std::string::npos);
  // TLS 1.1 is refused (min_version defaults to TLS12), whatever the client allows.
  auto old =
      curl(ca() + user + "--tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT@SECLEVEL=0' " + https("/metrics"));
  EXPECT_EQ(old.status, 0) << old.said;
  // Credentials over a wrong certificate authority are never sent: the client refuses.
  EXPECT_EQ(curl(user + https("/metrics")).status, 0);

  EXPECT_TRUE(eventually(ca() + user + https("/metrics"), [](const CurlReply& r) {
    return r.body.find("swarmkeeper_web_auth_failures_total 2\n") != std::string::npos &&
           r.body.find("swarmkeeper_web_tls_handshake_failures_total 0\n") == std::string::npos;
  })) << curl(ca() + user + https("/metrics")).body;
  const std::string log = slurp(log_);
  EXPECT_EQ(log.find("s3cret"), std::string::npos);
  EXPECT_EQ(log.find("$2y$"), std::string::npos);
  EXPECT_EQ(stop(), 0);
}

TEST_F(WebConfigTest, ClientCertificatesAndTheMinimumVersion) {
  const std::string mtls = std::string(kTls) +
                           "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                           "  min_version: TLS13\n  client_allowed_sans: [scraper.example]\n";
  const auto web = write_web_config(mtls);
  // TLS with verified client certificates is enough to listen beyond loopback.
  ASSERT_NE(start({"--listen", "0.0.0.0:0", "--web-config", web}), 0);
  const std::string cert = "--cert '" + pki_.client_cert + "' --key '" + pki_.client_key + "' ";
  auto with = curl(ca() + cert + https("/metrics"));
  EXPECT_EQ(with.status, 200) << with.said;
  EXPECT_EQ(curl(ca() + https("/metrics")).status, 0) << "no client certificate";
  // The server's own certificate is signed by the same CA but names no allowed SAN.
  EXPECT_EQ(
      curl(ca() + "--cert '" + pki_.server_cert + "' --key '" + pki_.server_key + "' " + https("/metrics"))
          .status,
      0);
  EXPECT_EQ(curl(ca() + cert + "--tls-max 1.2 " + https("/metrics")).status, 0) << "min_version TLS13";

  // A connection made before the change (kept alive, as a scraper keeps it) gets no
  // answer under the old settings after it.
  KeptConnection kept(*this, true);
  EXPECT_EQ(kept.answer(), "HTTP/1.1 200 OK") << "the kept connection's first answer";

  // A changed file is read again: now the client's SAN is no longer allowed.
  write_web_config(std::string(kTls) +
                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                   "  min_version: TLS13\n  client_allowed_sans: [other.example]\n");
  EXPECT_TRUE(eventually(ca() + cert + https("/metrics"), [](const CurlReply& r) { return r.status == 0; }));
  kept.go();
  EXPECT_EQ(kept.answer(), "closed")
      << "a connection made under the old SAN list was answered after the change";

  // Live changes may not weaken it: lowering min_version or dropping the SAN check is
  // refused, and the settings in force stay.
  write_web_config(std::string(kTls) +
                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                   "  min_version: TLS12\n  client_allowed_sans: [other.example]\n");
  const auto until = Clock::now() + 10s;
  while (slurp(log_).find("would lower min_version from TLS13 to TLS12") == std::string::npos &&
         Clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(slurp(log_).find("would lower min_version from TLS13 to TLS12 while serving"), std::string::npos)
      << slurp(log_);
  write_web_config(std::string(kTls) +
                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                   "  min_version: TLS13\n");
  const auto until2 = Clock::now() + 10s;
  while (slurp(log_).find("would turn the client_allowed_sans check off") == std::string::npos &&
         Clock::now() < until2)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(slurp(log_).find("would turn the client_allowed_sans check off while serving"),
            std::string::npos);
  EXPECT_EQ(curl(ca() + cert + https("/metrics")).status, 0) << "the SAN check in force was dropped";
  EXPECT_EQ(stop(), 0);
}

// Guesses sent in parallel from one source wait their turn, each after the delay the
// failures before it earned: without that, each would cost a bcrypt unslowed.
TEST_F(WebConfigTest, ParallelGuessesFromOneSourceWaitTheirTurn) {
  const auto web = write_web_config("basic_auth_users:\n  alice: " + hash_password("a-pass") + "\n");
  ASSERT_NE(start({"--listen", "127.0.0.1:0", "--web-config", web}), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/metrics";
  const auto t0 = Clock::now();
  // 7 guesses: 3 free, then 250 + 500 + 1000 + 2000 ms of waiting, one after another.
  const std::string cmd =
      "for i in 1 2 3 4 5 6 7; do curl -s -o /dev/null --max-time 30 -w '%{http_code}\\n' -u alice:wrong$i "
      "'" +
      url + "' & done; wait";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[256];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  const auto took = Clock::now() - t0;
  EXPECT_EQ(count(out, "401\n"), 7u) << out;
  EXPECT_GE(took, 3700ms) << "parallel guesses were checked without waiting their turn";
  EXPECT_EQ(stop(), 0);
}

// A reload that leaves the TLS settings and files as they are (a user added, SIGHUP)
// keeps connections and event streams (each reload made a new TLS context, and every
// one of them was dropped). Headers serve sets itself stay its own; the operator's
// others (HSTS) go on every answer, refusals included.
TEST_F(WebConfigTest, AReloadThatKeepsTlsKeepsConnectionsAndHeadersStayStrict) {
  const std::string alice = "  alice: " + hash_password("a-pass") + "\n";
  const std::string head =
      std::string(kTls) +
      "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n"
      "    X-Frame-Options: ALLOWALL\nbasic_auth_users:\n";
  const auto web = write_web_config(head + alice);
  ASSERT_NE(start({"--listen", "127.0.0.1:0", "--web-config", web, "--web-public", "/healthz", "--refresh",
                   "300ms"}),
            0);
  EXPECT_NE(slurp(log_).find("http_server_config.headers.X-Frame-Options: serve sends its own"),
            std::string::npos)
      << slurp(log_);
  auto refused = curl(ca() + https("/metrics"));
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.headers.find("Strict-Transport-Security: max-age=31536000"), std::string::npos)
      << refused.headers;
  auto page = curl(ca() + "-u alice:a-pass " + https("/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("Strict-Transport-Security: max-age=31536000"), std::string::npos)
      << page.headers;
  EXPECT_NE(page.headers.find("X-Frame-Options: DENY"), std::string::npos) << page.headers;
  EXPECT_EQ(page.headers.find("ALLOWALL"), std::string::npos) << page.headers;

  KeptConnection kept(*this, false);
  EXPECT_EQ(kept.answer(), "HTTP/1.1 200 OK");
  std::string stream_said;
  std::thread stream(
      [&] { stream_said = curl(ca() + "-N --max-time 6 -u alice:a-pass " + https("/events")).said; });
  std::this_thread::sleep_for(500ms);
  const auto reloads = count(slurp(log_), "in force: TLS, ");
  write_web_config(head + alice + "  bob: " + hash_password("b-pass") + "\n");
  const auto until = Clock::now() + 10s;
  while (count(slurp(log_), "in force: TLS, 2 user(s)") == 0 && Clock::now() < until)
    std::this_thread::sleep_for(50ms);
  ::kill(pid_, SIGHUP);
  while (count(slurp(log_), "in force: TLS, ") < reloads + 2 && Clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(count(slurp(log_), "in force: TLS, "), reloads + 2) << slurp(log_);
  kept.go();
  EXPECT_EQ(kept.answer(), "HTTP/1.1 200 OK")
      << "a reload that kept the TLS settings dropped a kept connection";
  stream.join();
  EXPECT_NE(stream_said.find("Operation timed out"), std::string::npos)
      << "the event stream ended before its --max-time: " << stream_said;
  EXPECT_EQ(stop(), 0);
}

// Users change under a running serve (beyond loopback, users without TLS): an invalid
// file, and one that would leave the port open to anyone, are logged and the users in
// force stay; a valid one takes over within seconds; SIGHUP reads it again.
TEST_F(WebConfigTest, AChangedFileIsReadAgainAndABadOneKeepsTheOneInForce) {
  const auto web = write_web_config("basic_auth_users:\n  alice: " + hash_password("a-pass") + "\n");
  ASSERT_NE(start({"--listen", "0.0.0.0:0", "--web-config", web, "--refresh", "300ms"}), 0);
  const std::string base = "'http://127.0.0.1:" + std::to_string(port_);
  EXPECT_NE(slurp(log_).find("without TLS: passwords cross the network in clear text"), std::string::npos)
      << slurp(log_);
  EXPECT_EQ(curl("-u alice:a-pass " + base + "/metrics'").status, 200);
  const std::string bob = "basic_auth_users:\n  bob: " + hash_password("b-pass") + "\n";

  write_web_config("basic_auth_users:\n  alice: not-a-hash\n");
  const auto until = Clock::now() + 10s;
  while (slurp(log_).find("keeping the web config in force") == std::string::npos && Clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(slurp(log_).find("basic_auth_users.alice: not a bcrypt hash"), std::string::npos) << slurp(log_);
  EXPECT_EQ(curl("-u alice:a-pass " + base + "/metrics'").status, 200);
  EXPECT_TRUE(eventually("-u alice:a-pass " + base + "/metrics'", [](const CurlReply& r) {
    return r.body.find("swarmkeeper_web_config_last_reload_successful 0\n") != std::string::npos;
  }));

  write_web_config(
      "basic_auth_users:\n");  // cut short: no users. Taking them away live is refused; alice stays
  const auto until2 = Clock::now() + 10s;
  while (count(slurp(log_), "keeping the web config in force") < 2 && Clock::now() < until2)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(slurp(log_).find("would turn authentication (basic_auth_users) off while serving"),
            std::string::npos)
      << slurp(log_);
  EXPECT_EQ(curl(base + "/metrics'").status, 401);

  // An event stream opened by alice ends once alice is no longer a user.
  std::string stream_said;
  auto stream_ended = Clock::time_point::max();
  std::thread stream([&] {
    stream_said = curl("-N --max-time 30 -u alice:a-pass " + base + "/events'").body;
    stream_ended = Clock::now();
  });
  std::this_thread::sleep_for(500ms);
  const auto switched = Clock::now();
  write_web_config(bob);
  EXPECT_TRUE(
      eventually("-u bob:b-pass " + base + "/metrics'", [](const CurlReply& r) { return r.status == 200; }));
  EXPECT_EQ(curl("-u alice:a-pass " + base + "/metrics'").status, 401);
  stream.join();
  EXPECT_NE(stream_said.find("event: snapshot"), std::string::npos);
  EXPECT_LT(stream_ended - switched, 10s) << "alice's stream outlived alice";
  EXPECT_TRUE(eventually("-u bob:b-pass " + base + "/metrics'", [](const CurlReply& r) {
    return r.body.find("swarmkeeper_web_config_last_reload_successful 1\n") != std::string::npos;
  }));

  const auto in_force = count(slurp(log_), "in force: plain HTTP, 1 user(s)");
  ::kill(pid_, SIGHUP);
  const auto until3 = Clock::now() + 10s;
  while (count(slurp(log_), "in force: plain HTTP, 1 user(s)") == in_force && Clock::now() < until3)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(count(slurp(log_), "in force: plain HTTP, 1 user(s)"), in_force + 1) << slurp(log_);
  EXPECT_EQ(curl("-u bob:b-pass " + base + "/metrics'").status, 200);
  EXPECT_EQ(stop(), 0);
}

// A bad file stops serve before it binds: exit 64 and one line naming file, key, problem.
TEST_F(WebConfigTest, BadFilesAreRefusedAtStartNamingTheKey) {
  const std::string dir = fs::path(pki_.ca_cert).parent_path().string();
  const struct {
    std::string yaml, said;
  } cases[] = {
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n",
       "tls_server_config.min_version: 'TLS14' is not"},
      {"tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
       "tls_server_config.cert_file " + dir + "/missing.crt: cannot read it"},
      {"tls_server_config:\n  cert_file: /dev/zero\n  key_file: server.key\n",
       "tls_server_config.cert_file /dev/zero: is not a regular file"},
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: ca.key\n",
       "tls_server_config.key_file " + dir + "/ca.key: is not the key of cert_file"},
      {"basic_auth_users:\n  alice: hunter2\n", "basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users:\n  alice: x\n  alice: y\n", "appears twice"},
      {"tls_server_config: {cert_file: a\n", "not valid YAML"},
  };
  for (const auto& c : cases) {
    const auto web = write_web_config(c.yaml);
    auto r = run_cli("serve --url " + url() + " --listen 127.0.0.1:0 --web-config '" + web + "'");
    EXPECT_EQ(r.exit_code, 64) << c.yaml << r.out;
    EXPECT_NE(r.out.find("--web-config " + web + ": "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.said), std::string::npos) << c.yaml << " -> " << r.out;
    EXPECT_EQ(r.out.find("hunter2"), std::string::npos);
  }
  auto missing = run_cli("serve --url " + url() + " --listen 127.0.0.1:0 --web-config /nonexistent/web.yml");
  EXPECT_EQ(missing.exit_code, 64);
  EXPECT_NE(missing.out.find("/nonexistent/web.yml: cannot read it"), std::string::npos) << missing.out;
  // A FIFO (it hung start, and a reload, and with it SIGTERM) or a device is not read.
  const std::string fifo = (tmp_ / "fifo.yml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& odd : {fifo, std::string("/dev/zero")}) {
    auto r = run_cli("serve --url " + url() + " --listen 127.0.0.1:0 --web-config " + odd, "timeout 10");
    EXPECT_EQ(r.exit_code, 64) << odd << ": " << r.out;
    EXPECT_NE(r.out.find("--web-config " + odd + ": is not a regular file"), std::string::npos) << r.out;
  }
  auto open = run_cli("serve --url " + url() + " --listen 0.0.0.0:0");
  EXPECT_EQ(open.exit_code, 64);
  EXPECT_NE(open.out.find("--web-config"), std::string::npos) << open.out;
  auto env =
      run_cli("serve --url " + url() + " --listen 0.0.0.0:0", "SWARMKEEPER_WEB_CONFIG=/nonexistent/env.yml");
  EXPECT_NE(env.out.find("/nonexistent/env.yml"), std::string::npos) << env.out;
  auto pub =
      run_cli("serve --url " + url() + " --web-config '" + write_web_config("") + "' --web-public /metrics");
  EXPECT_EQ(pub.exit_code, 64);
  EXPECT_NE(pub.out.find("only /healthz and /readyz may be public"), std::string::npos) << pub.out;
}

// A stock Prometheus (Debian's) scrapes serve with scheme https, tls_config and
// basic_auth, unmodified, and reaches up == 1.
TEST_F(WebConfigTest, APrometheusScrapesOverHttpsWithBasicAuth) {
  ASSERT_TRUE(fs::exists("/usr/bin/prometheus")) << "prometheus is missing: run scripts/setup.sh";
  const auto web = write_web_config(std::string(kTls) +
                                    "basic_auth_users:\n  prometheus: " + hash_password("s3cret") + "\n");
  ASSERT_NE(start({"--web-config", web, "--refresh", "500ms"}), 0);
  const auto prom_port = free_port();
  const auto prom_dir = tmp_ / "prometheus";
  fs::create_directories(prom_dir);
  std::ofstream(prom_dir / "prometheus.yml") << "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                                                "scrape_configs:\n"
                                                "  - job_name: swarmkeeper\n"
                                                "    scheme: https\n"
                                                "    tls_config: {ca_file: '"
                                             << pki_.ca_cert
                                             << "'}\n"
                                                "    basic_auth: {username: prometheus, password: s3cret}\n"
                                                "    static_configs: [{targets: ['127.0.0.1:"
                                             << port_ << "']}]\n";
  const std::string prom_log = (prom_dir / "prometheus.log").string();
  Child prom({"/usr/bin/prometheus", "--config.file=" + (prom_dir / "prometheus.yml").string(),
              "--storage.tsdb.path=" + (prom_dir / "data").string(),
              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
             prom_log);
  const auto value = [&](const std::string& query) {
    auto r = http_get(prom_port, "/api/v1/query?query=" + query);
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("data") || j["data"]["result"].empty()) return std::string("none");
    return j["data"]["result"][0]["value"][1].get<std::string>();
  };
  const auto deadline = Clock::now() + 40s;
  while (value("up") != "1" && Clock::now() < deadline) std::this_thread::sleep_for(250ms);
  EXPECT_EQ(value("up"), "1") << slurp(prom_log);
  EXPECT_EQ(value("swarmkeeper_redis_up"), "1");
  prom.stop();
  EXPECT_EQ(stop(), 0);
}

// The dashboard over https behind basic auth, in headless Chromium: it loads, draws,
// follows the event stream, and a browser without credentials gets 401.
TEST_F(WebConfigTest, TheDashboardWorksInChromiumOverHttpsWithCredentials) {
  const std::string web_dir = SWARMKEEPER_SOURCE_DIR "/web/node_modules/playwright-core";
  ASSERT_TRUE(fs::exists(web_dir)) << "playwright-core is missing: run scripts/setup.sh";
  ASSERT_TRUE(fs::exists("/usr/bin/chromium")) << "chromium is missing: run scripts/setup.sh";
  ASSERT_EQ(run_cli("seed --force --url " + url() + " --coordinators 10000 --stale 9900").exit_code, 0);
  const auto rules =
      write_rules(R"({"rules":[{"name":"TooManyStale","series":"swarmkeeper_coordinators{state=\"stale\"}",
    "op":">","threshold":9900,"for":"0s","summary":"stale coordinators above 9,900"}]})");
  const auto web = write_web_config(std::string(kTls) +
                                    "basic_auth_users:\n  operator: " + hash_password("op-pass") + "\n");
  ASSERT_NE(start({"--refresh", "1s", "--rules", rules, "--web-config", web}), 0);
  const std::string shot = fs::path(SWARMKEEPER_BINARY).parent_path().string() + "/dashboard.png";
  const std::string seed_more = std::string(SWARMKEEPER_BINARY) + " seed --force --url " + url() +
                                " --coordinators 200 --stale 200 --prefix more > /dev/null";
  const std::string cmd = "SK_URL=https://127.0.0.1:" + std::to_string(port_) +
                          "/ SK_USER=operator SK_PASSWORD=op-pass SK_REFRESH_MS=1000 SK_SCREENSHOT=" + shot +
                          " SK_SEED='" + seed_more +
                          "' node " SWARMKEEPER_SOURCE_DIR "/tests/web/dashboard.test.mjs 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0) << out;
  EXPECT_NE(out.find("DASHBOARD OK"), std::string::npos) << out;
  EXPECT_NE(out.find("without credentials: 401"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(shot));
  std::cout << out;
  EXPECT_EQ(stop(), 0);
}

}  // namespace
}  // namespace swarmkeeper
