// SPDX-License-Identifier: Apache-2.0
// redis_process.cpp — see redis_process.hpp.
#include "net/redis_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace swarmkeeper {
namespace {

namespace fs = std::filesystem;

// A port the kernel just handed out on 127.0.0.1 (never 6379). Racy by nature; start()
// retries with a new port if the server cannot bind it.
bool can_bind(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::uint16_t free_port(bool cluster_node) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
    ::close(fd);
    if (port == 0 || port == 6379) continue;
    if (cluster_node &&
        (port > 55535 || port == 6379 - 10000 || !can_bind(static_cast<std::uint16_t>(port + 10000))))
      continue;  // a cluster node also listens on port + 10000 (its bus)
    return port;
  }
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command quietly; returns its exit status.
int run_quiet(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

Result<void> make_certificates(const std::string& dir) {
  const std::string d = "'" + dir + "'";
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::ofstream(dir + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  std::ofstream(dir + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  const std::string cmds[] = {
      "openssl req -x509" + key + " -keyout " + d + "/ca.key -out " + d +
          "/ca.crt -days 2 -subj /CN=swarmkeeper-test-ca",
      "openssl req" + key + " -keyout " + d + "/server.key -out " + d + "/server.csr -subj /CN=localhost",
      "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d +
          "/ca.key -CAcreateserial -out " + d + "/server.crt -days 2 -extfile " + d + "/server.ext",
      "openssl req" + key + " -keyout " + d + "/client.key -out " + d +
          "/client.csr -subj /CN=swarmkeeper-test-client",
      "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d +
          "/ca.key -CAcreateserial -out " + d + "/client.crt -days 2 -extfile " + d + "/client.ext",
  };
  for (const auto& c : cmds)
    if (run_quiet(c) != 0) return Error(Errc::io_error, "generating test certificates failed: " + c);
  return {};
}

}  // namespace

Result<std::unique_ptr<RedisProcess>> RedisProcess::start(RedisProcessOptions options) {
  std::unique_ptr<RedisProcess> p(new RedisProcess());
  p->opts_ = std::move(options);
  std::string tmpl = (fs::temp_directory_path() / "swarmkeeper-redis-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Error(Errc::io_error, std::string("cannot create a temporary directory: ") + std::strerror(errno));
  p->dir_ = tmpl;
  if (p->opts_.tls)
    if (auto r = make_certificates(p->dir_); !r) return r.error();
  Error last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    p->port_ = free_port(p->opts_.cluster_node);
    if (p->port_ == 0) return Error(Errc::io_error, "no free loopback port for redis-server");
    auto r = p->launch();
    if (r) return p;
    last = r.error();
    if (last.message().find("ddress already in use") == std::string::npos) break;  // not a port race
  }
  return last;
}

Result<void> RedisProcess::launch() {
  const std::string log = dir_ + "/redis.log";
  std::error_code ignored;
  fs::remove(log, ignored);
  std::vector<std::string> args = {opts_.executable,
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   log,
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "no",
                                   "--enable-debug-command",
                                   "local"};
  if (opts_.tls) {
    for (const char* a : {"--port", "0", "--tls-port"}) args.emplace_back(a);
    args.push_back(std::to_string(port_));
    for (auto [flag, file] : {std::pair{"--tls-cert-file", "server.crt"},
                              {"--tls-key-file", "server.key"},
                              {"--tls-ca-cert-file", "ca.crt"}}) {
      args.emplace_back(flag);
      args.push_back(dir_ + "/" + file);
    }
    args.emplace_back("--tls-auth-clients");
    args.emplace_back("optional");
  } else {
    args.emplace_back("--port");
    args.push_back(std::to_string(port_));
  }
  if (opts_.cluster_node)
    for (const char* a : {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                          "--cluster-node-timeout", "2000"})
      args.emplace_back(a);
  args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());

  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Error(Errc::io_error, std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test or demo that started us
    if (::getppid() != parent) ::_exit(127);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return Error(Errc::io_error, "cannot run '" + opts_.executable +
                                         "': not found in PATH (install redis-server: scripts/setup.sh)");
      return Error(Errc::io_error, "redis-server exited at start-up: " + log_tail(5));
    }
    if (read_file(log).find("Ready to accept connections") != std::string::npos) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  return Error(Errc::timeout, "redis-server did not accept connections within " +
                                  std::to_string(opts_.start_timeout.count()) + " ms: " + log_tail(5));
}

void RedisProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {  // up to 5 s for a clean shutdown
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Result<void> RedisProcess::restart() {
  stop();
  return launch();
}

RedisProcess::~RedisProcess() {
  stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

std::string RedisProcess::url() const {
  if (opts_.tls) return "rediss://127.0.0.1:" + std::to_string(port_) + "/0?cacert=" + ca_file();
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0";
}

std::string RedisProcess::log_tail(std::size_t lines) const {
  std::string text = read_file(dir_ + "/redis.log");
  std::size_t at = text.size();
  for (std::size_t n = 0; n <= lines && at > 0; ++n) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) {
      at = 0;
      break;
    }
  }
  return text.substr(at);
}

// --- RedisCluster ----------------------------------------------------------------

Result<std::unique_ptr<RedisCluster>> RedisCluster::start(int masters, int replicas_per_master) {
  if (masters < 3 || masters > 16 || replicas_per_master < 0 || replicas_per_master > 2)
    return Error(Errc::invalid_argument, "a test cluster has 3..16 masters and 0..2 replicas each");
  std::unique_ptr<RedisCluster> c(new RedisCluster());
  const int total = masters * (1 + replicas_per_master);
  std::string hosts;
  for (int i = 0; i < total; ++i) {
    auto node = RedisProcess::start({.cluster_node = true});
    if (!node) return node.error();  // c's destructor stops the nodes already started
    hosts += " 127.0.0.1:" + std::to_string((*node)->port());
    c->nodes_.push_back(std::move(*node));
  }
  const std::string create = "redis-cli --cluster create" + hosts + " --cluster-replicas " +
                             std::to_string(replicas_per_master) + " --cluster-yes";
  if (run_quiet(create) != 0) return Error(Errc::io_error, "redis-cli --cluster create failed: " + create);
  // Ready when every node says cluster_state:ok and knows every other node.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (const auto& n : c->nodes_) {
    const std::string probe = "redis-cli -p " + std::to_string(n->port()) +
                              " cluster info 2>/dev/null | grep -q 'cluster_state:ok'"
                              " && test \"$(redis-cli -p " +
                              std::to_string(n->port()) +
                              " cluster nodes 2>/dev/null | grep -c connected)\" -eq " +
                              std::to_string(total);
    while (std::system(probe.c_str()) != 0) {
      if (std::chrono::steady_clock::now() > deadline)
        return Error(Errc::timeout, "the test cluster did not reach cluster_state:ok within 30 s (node " +
                                        std::to_string(n->port()) + ": " + n->log_tail(3) + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return c;
}

RedisCluster::~RedisCluster() {
  stop();
}

void RedisCluster::stop() {
  for (auto& n : nodes_) n->stop();
}

std::string RedisCluster::seed_url() const {
  return nodes_.empty() ? "" : nodes_.front()->url();
}

}  // namespace swarmkeeper
