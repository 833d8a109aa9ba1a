// SPDX-License-Identifier: Apache-2.0
// monitor.cpp — the monitor embedded in an application: the dashboard, alerts and
// Prometheus /metrics over Redis and the swarm, served by the application itself.
#include <chrono>
#include <iostream>
#include <thread>

#include "swarmkeeper/monitor/monitor.hpp"

int main(int argc, char** argv) {
  auto connection = swarmkeeper::parse_redis_url(argc > 1 ? argv[1] : "redis://127.0.0.1:6379");
  if (!connection) return std::cerr << connection.error().message() << "\n", 64;
  swarmkeeper::monitor::MonitorOptions options;
  options.connection = *connection;
  options.listen = "127.0.0.1:0";  // any free port
  options.refresh = std::chrono::milliseconds(200);
  swarmkeeper::monitor::Monitor monitor(options);
  if (auto started = monitor.start(); !started) {
    std::cerr << "monitor: " << started.error().message() << "\n";
    return 1;
  }
  std::cout << "dashboard and /metrics on http://127.0.0.1:" << monitor.port() << "/\n";
  std::string metrics;
  for (int i = 0; i < 50 && metrics.find("swarmkeeper_redis_up") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    metrics = monitor.metrics_text();
  }
  monitor.stop();
  const bool ok = metrics.find("swarmkeeper_build_info") != std::string::npos;
  std::cout << (ok ? "metrics served" : "no metrics") << "\n";
  return ok ? 0 : 1;
}
