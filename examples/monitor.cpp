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
  // Redis unreachable does not stop the monitor (it serves swarmkeeper_redis_up 0 and
  // retries); this example waits up to 5 s for Redis to answer.
  std::string metrics;
  for (int i = 0; i < 50 && metrics.find("\nswarmkeeper_redis_up 1\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    metrics = monitor.metrics_text();
  }
  monitor.stop();
  if (metrics.find("\nswarmkeeper_redis_up 1\n") == std::string::npos) {
    std::cerr << "monitor: " << connection->display()
              << " did not answer within 5 s (swarmkeeper_redis_up 0)\n";
    return 1;
  }
  std::cout << "metrics served\n";
  return 0;
}
