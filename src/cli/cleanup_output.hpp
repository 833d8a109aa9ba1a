// SPDX-License-Identifier: Apache-2.0
// cleanup_output.hpp — how a cleanup report leaves the process: JSON on stdout, a
// human summary, the reference log lines (rotated log file), and Prometheus textfile
// metrics for node_exporter (written atomically).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "swarmkeeper/coord/cleanup.hpp"

namespace swarmkeeper::cli {

/// The report as one JSON object (the reference report's field names, plus ours).
std::string report_json(const CleanupReport& r);
/// A short human summary (several lines).
std::string report_text(const CleanupReport& r);
/// Appends the summary to a rotated log file (10 MB x 5). Returns an error message, or "".
std::string append_log(const std::string& path, const CleanupReport& r, const std::string& target,
                       bool json = false);
/// Appends one [ERROR] line for a run that could not start (connect, auth, lock).
std::string append_failure_log(const std::string& path, const std::string& error, const std::string& target,
                               bool json = false);
/// One JSON log line: {"time": ISO 8601 UTC with ms, "level", "msg", ...fields}.
std::string json_log_line(const char* level, const std::string& msg,
                          const nlohmann::ordered_json& fields = {});
/// Default log path: $XDG_STATE_HOME/swarmkeeper/cleanup.log, else ~/.local/state/...
std::string default_log_path();
/// Writes Prometheus metrics to path (write + rename). Counters (_total) carry on from
/// the previous file; last_success_timestamp only moves on success. Returns error or "".
std::string write_prom_file(const std::string& path, const CleanupReport* r, bool success);

}  // namespace swarmkeeper::cli
