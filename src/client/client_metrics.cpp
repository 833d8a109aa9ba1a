// SPDX-License-Identifier: Apache-2.0
// client_metrics.cpp — Prometheus text rendering of a ClientMetricsSnapshot, and merging two.
#include "swarmkeeper/client/client_metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace swarmkeeper {

std::string render_prometheus(const ClientMetricsSnapshot& m) {
  std::string o;
  auto head = [&](const char* name, const char* type, const char* help) {
    o += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  head("swarmkeeper_client_commands_total", "counter", "Commands completed, by command.");
  for (const auto& c : m.commands)
    o += fmt::format("swarmkeeper_client_commands_total{{command=\"{}\"}} {}\n", c.command, c.calls);
  head("swarmkeeper_client_command_errors_total", "counter", "Commands that failed, by command.");
  for (const auto& c : m.commands)
    o += fmt::format("swarmkeeper_client_command_errors_total{{command=\"{}\"}} {}\n", c.command, c.errors);
  head("swarmkeeper_client_command_duration_seconds", "summary", "Command latency as the caller saw it.");
  for (const auto& c : m.commands) {
    for (double q : {0.5, 0.95, 0.99, 0.999})
      o += fmt::format(
          "swarmkeeper_client_command_duration_seconds{{command=\"{}\",quantile=\"{}\"}} {:.9f}\n", c.command,
          q, c.latency_ns.percentile(q) / 1e9);
    o += fmt::format("swarmkeeper_client_command_duration_seconds_count{{command=\"{}\"}} {}\n", c.command,
                     c.latency_ns.count());
    o += fmt::format("swarmkeeper_client_command_duration_seconds_sum{{command=\"{}\"}} {:.9f}\n", c.command,
                     c.latency_ns.mean() * static_cast<double>(c.latency_ns.count()) / 1e9);
  }
  auto single = [&](const char* name, const char* type, const char* help, std::uint64_t value) {
    head(name, type, help);
    o += fmt::format("{} {}\n", name, value);
  };
  single("swarmkeeper_client_sent_bytes_total", "counter", "Bytes written to Redis.", m.bytes_out);
  single("swarmkeeper_client_received_bytes_total", "counter", "Bytes read from Redis.", m.bytes_in);
  single("swarmkeeper_client_writes_total", "counter", "Socket writes (commands are coalesced into them).",
         m.writes);
  single("swarmkeeper_client_compression_input_bytes_total", "counter",
         "Bytes of values stored compressed, before.", m.compression.bytes_before);
  single("swarmkeeper_client_compression_output_bytes_total", "counter",
         "Bytes of values stored compressed, after.", m.compression.bytes_after);
  head("swarmkeeper_client_pool_connections", "gauge", "Pool connections by state.");
  o += fmt::format("swarmkeeper_client_pool_connections{{state=\"in_use\"}} {}\n", m.pool.in_use);
  o += fmt::format("swarmkeeper_client_pool_connections{{state=\"idle\"}} {}\n", m.pool.idle);
  single("swarmkeeper_client_pool_waiters", "gauge", "Callers waiting for a connection.", m.pool.waiters);
  single("swarmkeeper_client_pool_connects_total", "counter", "Connections opened.", m.pool.connects);
  single("swarmkeeper_client_pool_failures_total", "counter", "Connections that failed to open or were lost.",
         m.pool.failures);
  head("swarmkeeper_client_pool_acquire_seconds", "summary", "Time to get a connection for a command.");
  for (double q : {0.5, 0.99})
    o += fmt::format("swarmkeeper_client_pool_acquire_seconds{{quantile=\"{}\"}} {:.9f}\n", q,
                     m.pool.acquire_ns.percentile(q) / 1e9);
  return o;
}

void ClientMetricsSnapshot::merge(const ClientMetricsSnapshot& o) {
  for (const auto& c : o.commands) {
    auto it = std::find_if(commands.begin(), commands.end(),
                           [&](const CommandMetrics& m) { return m.command == c.command; });
    if (it == commands.end()) {
      commands.push_back(c);
      continue;
    }
    it->calls += c.calls;
    it->errors += c.errors;
    it->latency_ns.merge(c.latency_ns);
  }
  bytes_out += o.bytes_out;
  bytes_in += o.bytes_in;
  writes += o.writes;
  commands_sent += o.commands_sent;
  compression.values_seen += o.compression.values_seen;
  compression.values_compressed += o.compression.values_compressed;
  compression.bytes_before += o.compression.bytes_before;
  compression.bytes_after += o.compression.bytes_after;
  pool.open += o.pool.open;
  pool.in_use += o.pool.in_use;
  pool.idle += o.pool.idle;
  pool.waiters += o.pool.waiters;
  pool.connects += o.pool.connects;
  pool.failures += o.pool.failures;
  pool.acquire_ns.merge(o.pool.acquire_ns);
}

}  // namespace swarmkeeper
