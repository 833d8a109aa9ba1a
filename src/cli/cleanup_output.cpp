// SPDX-License-Identifier: Apache-2.0
// cleanup_output.cpp — see cleanup_output.hpp.
#include "cli/cleanup_output.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "swarmkeeper/version.hpp"

namespace swarmkeeper::cli {

std::string report_json(const CleanupReport& r) {
  nlohmann::ordered_json j;
  j["totalCoordinatorsChecked"] = r.total_coordinators_checked;
  j["staleCoordinatorsFound"] = r.stale_coordinators_found;
  j["keysDeleted"] = r.keys_deleted;
  j["keysDeletedIsLowerBound"] = r.keys_deleted_lower_bound;
  j["executionTimeMs"] = r.execution_time_ms;
  j["staleCoordinatorIds"] = r.stale_coordinator_ids;
  j["staleCoordinatorIdsOmitted"] = r.stale_coordinator_ids_omitted;
  j["activeCoordinators"] = r.active_coordinators;
  j["invalidHeartbeats"] = r.invalid_heartbeats;
  if (r.invalid_heartbeats > 0) {
    nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
    for (const auto& [name, n] : r.invalid_heartbeat_reasons) reasons[name] = n;
    j["invalidHeartbeatReasons"] = reasons;
    j["invalidHeartbeatExamples"] = r.invalid_heartbeat_examples;
    if (!r.invalid_heartbeat_hint.empty()) j["invalidHeartbeatHint"] = r.invalid_heartbeat_hint;
  }
  j["absentCoordinatorsFound"] = r.absent_coordinators_found;
  j["absentReapedByTimestamps"] = r.absent_reaped_by_timestamps;
  j["absentReapedAfterWaiting"] = r.absent_reaped_after_waiting;
  j["absentWaiting"] = r.absent_waiting;
  j["absentRecorded"] = r.absent_recorded;
  j["absentNotRecorded"] = r.absent_not_recorded;
  j["absentRecordsRemoved"] = r.absent_records_removed;
  j["absentKeysDeleted"] = r.absent_keys_deleted;
  j["absentKeysWaiting"] = r.absent_keys_waiting;
  j["keysScanned"] = r.keys_scanned;
  j["keysKeptAmbiguous"] = r.keys_kept_ambiguous;
  j["renewedDuringRun"] = r.renewed_during_run;
  j["coordinatorsReaped"] = r.coordinators_reaped;
  j["orphanKeysSeen"] = r.orphan_keys_seen;
  j["orphansDeleted"] = r.orphans_deleted;
  j["coordinatorsPerSec"] = std::round(r.coordinators_per_sec * 100) / 100;
  j["mode"] = r.mode;
  j["recheck"] = r.recheck;
  j["dryRun"] = r.dry_run;
  if (r.cluster_masters > 0) {
    j["clusterMasters"] = r.cluster_masters;
    j["slotsRescanned"] = r.slots_rescanned;
    j["keysDeletedAcrossSlots"] = r.keys_deleted_across_slots;
    j["renewedInDeleteWindow"] = r.renewed_in_delete_window;
  }
  j["redisBusyMs"] = std::round(r.redis_busy_ms * 10) / 10;
  j["lockBusy"] = r.lock_busy;
  j["notes"] = r.notes;
  j["errors"] = r.errors;
  j["version"] = std::string(version());
  j["revision"] = std::string(revision());
  // Ids are arbitrary bytes: never let invalid UTF-8 abort the report.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string report_text(const CleanupReport& r) {
  std::ostringstream o;
  if (r.lock_busy) {
    o << "another cleanup is running against this database; nothing done\n";
    return o.str();
  }
  o << (r.dry_run ? "Dry run (nothing deleted)" : "Cleanup") << " finished in " << r.execution_time_ms
    << " ms (" << r.mode << " mode, re-check: " << r.recheck << ")\n";
  o << fmt::format("  coordinators checked: {}  stale: {}  active: {}  invalid heartbeats: {}\n",
                   r.total_coordinators_checked, r.stale_coordinators_found, r.active_coordinators,
                   r.invalid_heartbeats);
  o << fmt::format("  keys {}: {}  (scanned {}, kept as ambiguous {}, renewed during run {})\n",
                   r.dry_run ? "that would be deleted" : "deleted", r.keys_deleted, r.keys_scanned,
                   r.keys_kept_ambiguous, r.renewed_during_run);
  if (r.cluster_masters > 0)
    o << fmt::format(
        "  cluster: {} masters, {} slots scanned again after moving, {} keys deleted across slots "
        "(re-read, not atomic), {} renewed inside that window\n",
        r.cluster_masters, r.slots_rescanned, r.keys_deleted_across_slots, r.renewed_in_delete_window);
  if (r.invalid_heartbeats > 0) {
    std::string why;
    for (const auto& [name, n] : r.invalid_heartbeat_reasons)
      why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, name);
    o << fmt::format("  invalid heartbeats ({}), left alone; e.g. {}\n", why,
                     r.invalid_heartbeat_examples.empty() ? "" : r.invalid_heartbeat_examples.front());
    if (!r.invalid_heartbeat_hint.empty()) o << "    hint: " << r.invalid_heartbeat_hint << "\n";
  }
  if (r.absent_coordinators_found > 0)
    o << fmt::format(
        "  absent coordinators (no liveness record left): {}  reaped by their keys' timestamps: {}  "
        "reaped after waiting: {}  still waiting: {} (first seen now: {})  keys {}: {}, kept: {}\n",
        r.absent_coordinators_found, r.absent_reaped_by_timestamps, r.absent_reaped_after_waiting,
        r.absent_waiting, r.absent_recorded, r.dry_run ? "that would be deleted" : "deleted",
        r.absent_keys_deleted, r.absent_keys_waiting);
  if (r.orphan_keys_seen > 0)
    o << fmt::format("  orphan keys (naming no coordinator): seen {}, deleted {}\n", r.orphan_keys_seen,
                     r.orphans_deleted);
  o << fmt::format("  {:.0f} coordinators/s, Redis busy {:.1f} ms\n", r.coordinators_per_sec,
                   r.redis_busy_ms);
  for (const auto& n : r.notes) o << "  note: " << n << "\n";
  for (const auto& e : r.errors) o << "  error: " << e << "\n";
  return o.str();
}

std::string default_log_path() {
  namespace fs = std::filesystem;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x)
    return (fs::path(x) / "swarmkeeper" / "cleanup.log").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home && *home ? home : "/tmp") / ".local" / "state" / "swarmkeeper" / "cleanup.log")
      .string();
}

namespace {

// %* : the level in capitals, as the reference logs have it ([INFO], [WARN], [ERROR]).
class UpperLevel final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr const char* names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "OFF"};
    const std::string_view n = names[static_cast<int>(msg.level)];
    dest.append(n.data(), n.data() + n.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<UpperLevel>(); }
};

}  // namespace

// The log, rotated at 10 MB x 5: the reference text format, or (json) JSON lines where the
// message is the whole line. The default path's directory is created; an explicit
// --log-file's directory must exist (checked before the run).
spdlog::logger open_log(const std::string& path, bool json = false) {
  if (path == default_log_path())
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path, 10 * 1024 * 1024, 5);
  spdlog::logger log("cleanup", sink);
  if (json) {
    log.set_pattern("%v");
    return log;
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<UpperLevel>('*').set_pattern("[%Y-%m-%d %H:%M:%S] [%*] %v");
  log.set_formatter(std::move(formatter));
  return log;
}

std::string json_log_line(const char* level, const std::string& msg, const nlohmann::ordered_json& fields) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  nlohmann::ordered_json j;
  j["time"] = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
  j["level"] = level;
  j["msg"] = msg;
  if (fields.is_object())
    for (const auto& [k, v] : fields.items()) j[k] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string append_failure_log(const std::string& path, const std::string& error, const std::string& target,
                               bool json) {
  try {
    if (json) {
      auto log = open_log(path, true);
      log.error("{}",
                json_log_line("error", "cleanup could not run", {{"target", target}, {"error", error}}));
      log.flush();
      return "";
    }
    auto log = open_log(path);
    log.error("Cleanup could not run against {}: {}", target, error);
    log.flush();
  } catch (const std::exception& e) {
    return "cannot write log file '" + path + "': " + e.what() + " (use --log-file PATH)";
  }
  return "";
}

std::string append_log(const std::string& path, const CleanupReport& r, const std::string& target,
                       bool json) {
  try {
    if (json) {  // one line per run: the report itself
      auto log = open_log(path, true);
      const bool skipped = r.lock_busy;
      log.info("{}",
               json_log_line(r.errors.empty() ? "info" : "error",
                             skipped ? "skipped: another cleanup is running" : "cleanup summary",
                             {{"target", target},
                              {"report", nlohmann::ordered_json::parse(report_json(r), nullptr, false)}}));
      log.flush();
      return "";
    }
    auto log = open_log(path);
    if (r.lock_busy) {
      log.info("Skipped: another cleanup is running against {}", target);
      log.flush();
      return "";
    }
    log.info("Cleanup Summary:{}", r.dry_run ? " (dry run: nothing deleted)" : "");
    log.info("  Target: {}", target);
    log.info("  Total coordinators checked: {}", r.total_coordinators_checked);
    log.info("  Stale coordinators found: {}", r.stale_coordinators_found);
    log.info("  Keys deleted: {}", r.keys_deleted);
    log.info("  Execution time: {}ms", r.execution_time_ms);
    log.info("  Performance: {:.2f} coordinators/sec", r.coordinators_per_sec);
    log.info(
        "  Mode: {} (re-check: {}), keys scanned: {}, kept ambiguous: {}, renewed during run: {}, invalid "
        "heartbeats: {}, orphans deleted: {}, Redis busy: {:.1f}ms",
        r.mode, r.recheck, r.keys_scanned, r.keys_kept_ambiguous, r.renewed_during_run, r.invalid_heartbeats,
        r.orphans_deleted, r.redis_busy_ms);
    if (r.absent_coordinators_found > 0)
      log.info(
          "  Absent coordinators (no liveness record left): {}, reaped by their keys' timestamps: {}, reaped "
          "after "
          "waiting: {}, still waiting: {}, first seen now: {}, their keys deleted: {}",
          r.absent_coordinators_found, r.absent_reaped_by_timestamps, r.absent_reaped_after_waiting,
          r.absent_waiting, r.absent_recorded, r.absent_keys_deleted);
    for (const auto& n : r.notes) log.warn("{}", n);
    for (const auto& e : r.errors) log.error("{}", e);
    log.flush();
  } catch (const std::exception& e) {
    return "cannot write log file '" + path + "': " + e.what() + " (use --log-file PATH)";
  }
  return "";
}

std::string write_prom_file(const std::string& path, const CleanupReport* r, bool success) {
  // Carry counters and the last success time over from the previous file.
  std::map<std::string, double> prev;
  std::error_code size_ec;
  // Only a regular file of sane size is read back (never /dev/full, a FIFO, a huge file).
  if (std::filesystem::is_regular_file(path, size_ec) &&
      std::filesystem::file_size(path, size_ec) <= (1u << 20) && !size_ec) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto sp = line.rfind(' ');
      if (sp == std::string::npos) continue;
      try {
        prev[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
      } catch (...) {
      }
    }
  }
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help, double value,
                    const char* labels = "") {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << labels << " " << fmt::format("{}", value) << "\n";
  };
  auto counter = [&](const char* name, const char* help, double add) {
    metric(name, "counter", help, prev[name] + add);
  };
  const bool skipped = r && r->lock_busy;
  // A run turned away by the lock did no work: it is neither a success (the "no success
  // in 30 min" alert must still fire while runs keep being skipped) nor a failure.
  const double prev_success =
      prev.count("swarmkeeper_cleanup_success") ? prev["swarmkeeper_cleanup_success"] : 1;
  const std::string build_labels = fmt::format("{{version=\"{}\",revision=\"{}\"}}", version(), revision());
  metric("swarmkeeper_build_info", "gauge",
         "The version and git revision of the swarmkeeper that wrote this file.", 1, build_labels.c_str());
  metric("swarmkeeper_cleanup_last_run_timestamp_seconds", "gauge", "When the last cleanup run ended.", now);
  metric("swarmkeeper_cleanup_last_success_timestamp_seconds", "gauge",
         "When the last successful cleanup run ended.",
         success && !skipped ? now : prev["swarmkeeper_cleanup_last_success_timestamp_seconds"]);
  metric("swarmkeeper_cleanup_success", "gauge", "1 if the last run that did work succeeded, else 0.",
         skipped   ? prev_success
         : success ? 1
                   : 0);
  counter("swarmkeeper_cleanup_runs_total", "Cleanup runs.", 1);
  counter("swarmkeeper_cleanup_failures_total", "Cleanup runs that failed.", success ? 0 : 1);
  counter("swarmkeeper_cleanup_skipped_total", "Runs skipped because another cleanup held the lock.",
          skipped ? 1 : 0);
  if (r && !skipped) {
    metric("swarmkeeper_cleanup_duration_seconds", "gauge", "Wall time of the last run.",
           r->execution_time_ms / 1000.0);
    metric("swarmkeeper_cleanup_coordinators_checked", "gauge",
           "Coordinators with a liveness record in the last run.",
           static_cast<double>(r->total_coordinators_checked));
    metric("swarmkeeper_cleanup_stale_coordinators", "gauge", "Stale coordinators found in the last run.",
           static_cast<double>(r->stale_coordinators_found));
    metric("swarmkeeper_cleanup_active_coordinators", "gauge", "Active coordinators in the last run.",
           static_cast<double>(r->active_coordinators));
    metric("swarmkeeper_cleanup_invalid_heartbeats", "gauge", "Unreadable heartbeats in the last run.",
           static_cast<double>(r->invalid_heartbeats));
    metric("swarmkeeper_cleanup_redis_busy_seconds", "gauge", "Server CPU during the last run.",
           r->redis_busy_ms / 1000.0);
    counter("swarmkeeper_cleanup_keys_deleted_total", "Keys deleted.",
            r->dry_run ? 0 : static_cast<double>(r->keys_deleted));
    counter("swarmkeeper_cleanup_coordinators_reaped_total", "Coordinators whose keys were deleted.",
            r->dry_run ? 0 : static_cast<double>(r->coordinators_reaped));
    counter("swarmkeeper_cleanup_keys_kept_ambiguous_total", "Keys kept because their owner was ambiguous.",
            static_cast<double>(r->keys_kept_ambiguous));
    counter("swarmkeeper_cleanup_renewed_during_run_total",
            "Coordinators found stale that were alive at delete time.",
            static_cast<double>(r->renewed_during_run));
    counter("swarmkeeper_cleanup_orphans_deleted_total", "Orphan keys deleted.",
            r->dry_run ? 0 : static_cast<double>(r->orphans_deleted));
    metric("swarmkeeper_cleanup_absent_coordinators", "gauge",
           "Coordinators with no liveness record left whose keys remained, in the last run.",
           static_cast<double>(r->absent_coordinators_found));
    metric("swarmkeeper_cleanup_absent_waiting", "gauge",
           "Absent coordinators kept in the last run (a young key, or not seen absent long enough).",
           static_cast<double>(r->absent_waiting));
    counter("swarmkeeper_cleanup_absent_keys_deleted_total", "Keys of absent coordinators deleted.",
            r->dry_run ? 0 : static_cast<double>(r->absent_keys_deleted));
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << o.str();
    if (!out) return "cannot write '" + tmp + "'";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return "cannot rename '" + tmp + "' to '" + path + "': " + ec.message();
  return "";
}

}  // namespace swarmkeeper::cli
