// SPDX-License-Identifier: Apache-2.0
// cli_runner.hpp — runs the swarmkeeper binary as an operator would, and the fixtures
// the CLI and cleanup tests share (a scratch directory; a server with one ACL user).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "support/redis_fixture.hpp"

namespace swarmkeeper::testing {

struct Ran {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

/// Runs `swarmkeeper ARGS` through the shell with ENV assignments before it.
inline Ran run_cli(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " SWARMKEEPER_BINARY " " + args + " 2>&1";
  Ran r;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// Starts `swarmkeeper args...` (no shell) with stdout+stderr to out_file; returns its pid.
inline pid_t spawn_cli(std::vector<std::string> args, const std::string& out_file) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::fopen(out_file.c_str(), "w");
    ::dup2(::fileno(f), 1);
    ::dup2(::fileno(f), 2);
    std::vector<char*> argv{const_cast<char*>(SWARMKEEPER_BINARY)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(SWARMKEEPER_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

/// Waits for a spawned child; returns its exit code (-1 if killed by a signal).
inline int wait_cli(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A private server (RedisTest) plus a scratch directory for log and metrics files.
class CliFixture : public RedisTest {
 protected:
  std::string url() { return "redis://127.0.0.1:" + std::to_string(server_->port()); }
  std::filesystem::path tmp_ =
      std::filesystem::temp_directory_path() / ("swarmkeeper-cli-" + std::to_string(::getpid()));
  void SetUp() override {
    RedisTest::SetUp();
    std::filesystem::create_directories(tmp_);
  }
  void TearDown() override { std::filesystem::remove_all(tmp_); }
};

/// A private server with one ACL user (rules as redis-server --user takes them), and
/// options for the default user (admin) and for that user.
struct AclServer {
  std::unique_ptr<RedisProcess> server;
  ConnectionOptions admin, user;
};
inline AclServer start_acl_server(const std::string& name, const std::string& password,
                                  std::vector<std::string> rules) {
  std::vector<std::string> args{"--user", name, "on", ">" + password};
  args.insert(args.end(), rules.begin(), rules.end());
  AclServer a;
  a.server = start_server({.extra_args = args});
  if (!a.server) return a;
  a.admin.port = a.server->port();
  a.user = a.admin;
  a.user.username = name;
  a.user.password = password;
  return a;
}

}  // namespace swarmkeeper::testing
