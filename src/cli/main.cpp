// main.cpp — the swarmkeeper command line: `swarmkeeper <command> [options]`.
#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

#include "net/connection.hpp"
#include "net/run_blocking.hpp"
#include "swarmkeeper/redis_process.hpp"

namespace {

namespace asio = boost::asio;
using namespace swarmkeeper;
using net::run_blocking;

// Exit codes (the seeds'): 0 ok, 1 cannot connect/authenticate, 2 finished with errors, 64 usage.
constexpr int kExitOk = 0, kExitConnect = 1, kExitErrors = 2, kExitUsage = 64;

// demo: until the cleanup lands, a smoke check against a private redis-server.
int run_demo(const std::optional<std::string>& url) {
  std::unique_ptr<RedisProcess> server;
  ConnectionOptions opts;
  if (url) {
    auto o = parse_redis_url(*url);
    if (!o) {
      std::cerr << "swarmkeeper: --url: " << o.error().message() << "\n";
      return kExitUsage;
    }
    opts = *o;
  } else {
    auto s = RedisProcess::start();
    if (!s) {
      std::cerr << "swarmkeeper demo: " << s.error().message() << "\n";
      return kExitConnect;
    }
    server = std::move(*s);
    opts.port = server->port();
    std::cout << "started a private redis-server on 127.0.0.1:" << server->port() << "\n";
  }
  asio::io_context io;
  auto conn = run_blocking(io, net::Connection::open(io.get_executor(), opts));
  if (!conn) {
    std::cerr << "swarmkeeper demo: " << conn.error().message() << "\n";
    return kExitConnect;
  }
  resp::Pipeline p;
  for (int i = 0; i < 1000; ++i) p.add("SET", "swarmkeeper:demo:" + std::to_string(i), i);
  for (int i = 0; i < 1000; ++i) p.add("UNLINK", "swarmkeeper:demo:" + std::to_string(i));
  auto replies = run_blocking(io, (*conn)->exec(p));
  if (!replies) {
    std::cerr << "swarmkeeper demo: " << replies.error().message() << "\n";
    return kExitErrors;
  }
  std::size_t ok = 0;
  for (const auto& r : *replies) ok += (r.str() == "OK" || r.integer() == 1);
  std::cout << "connected to " << opts.display() << " (Redis " << (*conn)->server_version() << ", RESP"
            << (*conn)->protocol() << "); " << ok << " of 2000 pipelined commands succeeded in one write\n";
  std::cout << (ok == 2000 ? "verdict: PASS" : "verdict: FAIL") << "\n";
  return ok == 2000 ? kExitOk : kExitErrors;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"swarmkeeper — keeps a Redis-backed agent swarm healthy"};
  app.require_subcommand(1);
  std::optional<std::string> url;
  auto* demo = app.add_subcommand("demo", "Run the main job against a private redis-server and verify it");
  demo->add_option("--url", url, "Use this Redis instead of a private one (redis://[user[:password]@]host[:port][/db])");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "swarmkeeper: " << e.what() << "\nRun 'swarmkeeper --help' for usage.\n";
    return kExitUsage;
  }
  if (*demo) return run_demo(url);
  return kExitOk;
}
