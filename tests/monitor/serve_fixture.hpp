// SPDX-License-Identifier: Apache-2.0
// serve_fixture.hpp — `swarmkeeper serve` under test: raw HTTP over loopback sockets,
// child processes stopped with the test, and ServeTest, which starts serve against the
// fixture's private Redis and stops it (SIGTERM) afterwards.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_runner.hpp"

namespace swarmkeeper::testing {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct HttpReply {
  int status = 0;
  std::string body;
};

// A loopback TCP connection to port (reads time out after 10 s); -1 if refused.
inline int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One GET over a fresh loopback connection (HTTP/1.0: the server closes after).
inline HttpReply http_get(std::uint16_t port, const std::string& path) {
  HttpReply r;
  const int fd = connect_to(port);
  if (fd < 0) return r;
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  if (all.size() > 12) r.status = std::atoi(all.c_str() + 9);
  const auto body = all.find("\r\n\r\n");
  if (body != std::string::npos) r.body = all.substr(body + 4);
  return r;
}

// A raw request over a fresh loopback connection; the whole answer, headers included.
inline std::string http_raw(std::uint16_t port, const std::string& request) {
  const int fd = connect_to(port);
  if (fd < 0) return "";
  (void)!::write(fd, request.data(), request.size());
  ::shutdown(fd, SHUT_WR);
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return all;
}

// A header's value in a raw answer ("" if absent); the name in any case.
inline std::string header(const std::string& answer, std::string name) {
  const auto end = answer.find("\r\n\r\n");
  std::istringstream lines(answer.substr(0, end));
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string n = line.substr(0, colon);
    std::transform(n.begin(), n.end(), n.begin(), ::tolower);
    if (n != name) continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(' '));
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    return v;
  }
  return "";
}

// A TCP socket bound to a free loopback port, which goes to `port`.
inline int bind_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    ADD_FAILURE() << "bind: " << std::strerror(errno);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

class ServeTest : public CliFixture {
 protected:
  // Starts serve with args; waits for its "dashboard on http://...:PORT/" line.
  std::uint16_t start(std::vector<std::string> args, const std::string& redis_url = "") {
    std::vector<std::string> all{"serve", "--url", redis_url.empty() ? url() : redis_url};
    if (std::find(args.begin(), args.end(), "--listen") == args.end())
      all.insert(all.end(), {"--listen", "127.0.0.1:0"});
    all.insert(all.end(), args.begin(), args.end());
    log_ = (tmp_ / "serve.log").string();
    std::filesystem::remove(log_);  // a previous run's line must not be read as this one's
    pid_ = spawn_cli(all, log_);
    const auto deadline = Clock::now() + 10s;
    std::smatch m;
    while (Clock::now() < deadline) {
      const std::string out = slurp(log_);
      if (std::regex_search(out, m, std::regex("dashboard on https?://[^ ]+:([0-9]+)/")))
        return port_ = std::stoi(m[1]);
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "serve did not start: " << slurp(log_);
    return 0;
  }
  // SIGTERM, then the exit code (fails the test if it takes more than 10 s).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + 10s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        ADD_FAILURE() << "serve did not stop within 10 s of SIGTERM";
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void TearDown() override {
    if (pid_ > 0) stop();
    CliFixture::TearDown();
  }
  // Polls GET path until pred(body) or timeout.
  template <class Pred>
  bool wait_for(const std::string& path, Pred pred, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto r = http_get(port_, path);
      if (r.status == 200 && pred(r.body)) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  double value(const std::string& series) {
    auto snap = json::parse(http_get(port_, "/api/snapshot").body, nullptr, false);
    if (snap.is_discarded() || !snap["values"].contains(series) || snap["values"][series].is_null())
      return std::nan("");
    return snap["values"][series].get<double>();
  }
  // An alert's state in /api/alerts: inactive, pending, firing, resolved; "none" if no such rule.
  std::string alert_state(const std::string& name) {
    auto alerts = json::parse(http_get(port_, "/api/alerts").body, nullptr, false);
    if (!alerts.is_array()) return "unreadable";
    for (const auto& a : alerts)
      if (a.value("name", "") == name) return a.value("state", std::string("?"));
    return "none";
  }
  std::string write_rules(const std::string& text) {
    auto p = (tmp_ / "rules.json").string();
    std::ofstream(p) << text;
    return p;
  }
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string log_;
};

inline std::uint16_t free_port() {
  std::uint16_t port = 0;
  ::close(bind_loopback(port));
  return port;
}

// A child process, its output to a file; stopped (SIGTERM, then SIGKILL) by stop(), when
// this goes away, and with the test runner (PR_SET_PDEATHSIG).
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& out) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      FILE* f = std::fopen(out.c_str(), "a");
      ::dup2(::fileno(f), 1);
      ::dup2(::fileno(f), 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace swarmkeeper::testing
