// SPDX-License-Identifier: Apache-2.0
// client_metrics.hpp — what a Client measured: per-command counts, errors and latency
// percentiles, bytes, compression, pipelining and pool figures; rendered in Prometheus
// text format with conventional names (_total, _seconds, _bytes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "swarmkeeper/client/compression.hpp"
#include "swarmkeeper/metrics/histogram.hpp"

namespace swarmkeeper {

struct CommandMetrics {
  std::string command;  ///< upper case, e.g. "GET"; "OTHER" for the rest
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  metrics::Histogram::Snapshot latency_ns;  ///< percentile(0.99) etc., in nanoseconds
};

struct PoolMetrics {
  std::uint64_t open = 0;    ///< connections open now
  std::uint64_t in_use = 0;  ///< of which with commands in flight or leased
  std::uint64_t idle = 0;
  std::uint64_t waiters = 0;                ///< callers waiting for a connection
  std::uint64_t connects = 0;               ///< connections opened so far
  std::uint64_t failures = 0;               ///< connections lost or failed to open so far
  metrics::Histogram::Snapshot acquire_ns;  ///< time to get a connection for a command
};

struct ClientMetricsSnapshot {
  std::vector<CommandMetrics> commands;  ///< only commands that were called
  std::uint64_t bytes_out = 0, bytes_in = 0;
  std::uint64_t writes = 0;  ///< socket writes: commands / writes = mean batch
  std::uint64_t commands_sent = 0;
  CompressionStats compression;
  PoolMetrics pool;
  double mean_batch() const {
    return writes ? static_cast<double>(commands_sent) / static_cast<double>(writes) : 0;
  }
  /// Adds another client's figures (counts summed, histograms merged; commands by name).
  void merge(const ClientMetricsSnapshot& other);
};

/// Prometheus text format: swarmkeeper_client_commands_total{command="GET"}, ...
std::string render_prometheus(const ClientMetricsSnapshot& m);

}  // namespace swarmkeeper
