// cli_runner.hpp — runs the swarmkeeper binary as an operator would (tests/cli).
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

}  // namespace swarmkeeper::testing
