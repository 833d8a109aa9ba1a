// SPDX-License-Identifier: Apache-2.0
// main.cpp — the swarmkeeper command line: `swarmkeeper <command> [options]`.
//
// Exit codes: 0 success, 1 cannot connect or authenticate, 2 finished with
// errors, 64 usage error (one line and a pointer to --help).
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <filesystem>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/bench_blocks.hpp"
#include "cli/bench_cleanup.hpp"
#include "cli/bench_client.hpp"
#include "cli/bench_serve.hpp"
#include "cli/cleanup_output.hpp"
#include "cli/demo.hpp"
#include "cli/inspect.hpp"
#include "cli/serve.hpp"
#include "cli/validators.hpp"
#include "resp/numbers.hpp"
#include "swarmkeeper/coord/cleanup.hpp"
#include "swarmkeeper/coord/seed.hpp"
#include "swarmkeeper/version.hpp"

namespace {

using namespace swarmkeeper;
constexpr int kExitOk = 0, kExitConnect = 1, kExitErrors = 2, kExitUsage = 64;
using cli::count_in;
using cli::decimal_in;

int usage_error(const std::string& msg) {
  std::cerr << "swarmkeeper: " << msg << "\nRun 'swarmkeeper --help' for usage.\n";
  return kExitUsage;
}

// Exit code for an error that stopped a command before it started its work.
int start_error(const Error& e) {
  std::cerr << "swarmkeeper: " << e.message() << "\n";
  return e.code() == Errc::invalid_argument ? kExitUsage : kExitConnect;
}

struct CleanupArgs {
  std::optional<std::string> url;
  std::string threshold = "600";
  bool dry_run = false, json = false, orphans = false, wait = false, verbose = false, no_log = false,
       no_absent = false;
  std::size_t max_absent_records = 1000000;
  std::string recheck = "auto", mode, schema_file, log_file, prom_file, log_format = "text";
  double max_busy = 0;
  std::size_t max_ids = 100, batch = 500, scan_count = 1000, in_flight = 8, park_mb = 24;
};

void add_cleanup_options(CLI::App* c, CleanupArgs& a) {
  c->add_option("--url", a.url,
                "Redis URL: redis://[user[:password]@]host[:port][/db] or rediss://... "
                "(default: REDIS_URL, then REDIS_HOST/PORT/PASSWORD/DB, then 127.0.0.1:6379/0). "
                "A password on the command line shows in ps: prefer REDIS_PASSWORD_FILE=/path "
                "(a file holding the password) or REDIS_PASSWORD in the environment");
  c->add_option("--threshold", a.threshold,
                "Age after which a coordinator's heartbeat is stale: 600, 600s, 10m, "
                "1500ms, 0.5 (a bare number is seconds)")
      ->envname("SWARMKEEPER_THRESHOLD")
      ->capture_default_str();
  c->add_flag("--dry-run", a.dry_run, "Delete nothing; report exactly what would be deleted");
  c->add_flag("--json", a.json, "Print the report as one JSON object on stdout");
  c->add_option("--recheck", a.recheck,
                "How a delete confirms its owners are still stale. auto (default): an atomic "
                "script; where scripts are refused, WATCH/MULTI/EXEC; where both are refused, "
                "a re-read right before the UNLINK (not atomic; said loudly). Or force one: "
                "script, transaction (a non-atomic re-read is never chosen by a flag)")
      ->check(CLI::IsMember({"auto", "script", "transaction"}))
      ->capture_default_str();
  c->add_option("--mode", a.mode, "Obsolete (every mode is atomic now): accepted and ignored")
      ->check(CLI::IsMember({"stream", "script"}))
      ->group("");
  c->add_option("--schema", a.schema_file,
                "Key schema file (JSON): prefixes, heartbeat format, extra families")
      ->check(CLI::ExistingFile);
  c->add_flag("--orphans", a.orphans,
              "Also delete family keys that name no coordinator at all, once the timestamp they "
              "carry (a JSON timestamp/lastActivity/startTime, or a 13-digit ms field ending the "
              "name) is older than the threshold; keys without one are kept");
  c->add_flag(
      "--no-absent", a.no_absent,
      "Do not reap absent coordinators. By default a coordinator with no liveness record left (its heartbeat "
      "and activity expired) is reaped: its keys go once every timestamp they carry is older than the "
      "threshold; keys that carry none (values like \"1\") are only recorded in swarmkeeper:absent by the "
      "first "
      "run that sees them, and go in a later run once the coordinator has been absent, with the same such "
      "keys, for longer than the threshold");
  c->add_option("--max-absent-records", a.max_absent_records,
                "Advanced: absent coordinators recorded in swarmkeeper:absent at most (~100 bytes each in "
                "Redis); past "
                "it new ones wait (1-100000000)")
      ->check(count_in(1, 100000000, "1000000"))
      ->capture_default_str()
      ->group("Advanced");
  c->add_option("--log-file", a.log_file,
                "Log file (rotated; default $XDG_STATE_HOME/swarmkeeper/cleanup.log); its "
                "directory must exist");
  c->add_flag("--no-log", a.no_log, "Write no log file");
  cli::add_log_format_option(c, a.log_format);
  c->add_option("--prom-file", a.prom_file,
                "Write Prometheus metrics here (node_exporter textfile collector)");
  c->add_option("--max-busy", a.max_busy,
                "Pace the run so the server's CPU stays under this percent of wall time (0.1-100)")
      ->check(decimal_in(0.1, 100, "20"));
  c->add_flag("--wait", a.wait, "If another cleanup is running, wait for it instead of exiting");
  c->add_option("--max-ids", a.max_ids, "Stale coordinator ids listed in the report (0-1000000)")
      ->check(count_in(0, 1000000, "100"))
      ->capture_default_str();
  c->add_flag("-v,--verbose", a.verbose, "Print notes and the summary to stderr as well");
  c->add_option("--batch", a.batch, "Advanced: keys per delete batch, one bounded server call (10-5000)")
      ->check(count_in(10, 5000, "500"))
      ->capture_default_str()
      ->group("Advanced");
  c->add_option("--scan-count", a.scan_count, "Advanced: SCAN COUNT per page (10-10000)")
      ->check(count_in(10, 10000, "1000"))
      ->capture_default_str()
      ->group("Advanced");
  c->add_option("--in-flight", a.in_flight, "Advanced: batches in flight at once (1-64)")
      ->check(count_in(1, 64, "8"))
      ->capture_default_str()
      ->group("Advanced");
  c->add_option("--park-mb", a.park_mb,
                "Advanced: client memory (MiB) for keys held until their coordinator's last "
                "step; more confirms more keys at once (less server CPU on big keyspaces) (0-4096)")
      ->check(count_in(0, 4096, "24"))
      ->capture_default_str()
      ->group("Advanced");
}

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) {
  g_stop.store(true);
}
std::atomic<bool> g_reload{false};
extern "C" void on_reload_signal(int) {
  g_reload.store(true);
}

// The threshold: a duration, from the flag, SWARMKEEPER_THRESHOLD or STALE_THRESHOLD_SECONDS (the other
// numbers were checked by their validators). "" if fine, else the usage error.
std::string read_threshold(const CleanupArgs& a, CleanupOptions& o) {
  const auto threshold = swarmkeeper::parse_duration_ms(a.threshold);
  if (!threshold)
    return swarmkeeper::bad_value(
        std::getenv("SWARMKEEPER_THRESHOLD") && a.threshold == std::getenv("SWARMKEEPER_THRESHOLD")
            ? (std::getenv("STALE_THRESHOLD_SECONDS") && a.threshold == std::getenv("STALE_THRESHOLD_SECONDS")
                   ? "STALE_THRESHOLD_SECONDS"
                   : "SWARMKEEPER_THRESHOLD")
            : "--threshold",
        a.threshold, "a positive duration of at least 1 ms and at most 30 days", "600, 600s, 10m, 1500ms");
  o.threshold = std::chrono::milliseconds(*threshold);
  return "";
}

int run_cleanup_command(const CleanupArgs& a) {
  CleanupOptions o;
  if (auto err = read_threshold(a, o); !err.empty()) return usage_error(err);
  o.max_busy_percent = a.max_busy;
  o.max_reported_ids = a.max_ids;
  o.batch_keys = a.batch;
  o.scan_count = a.scan_count;
  o.max_in_flight = a.in_flight;
  o.park_bytes = a.park_mb << 20;
  if (!a.log_file.empty() && !a.no_log) {
    const auto dir = std::filesystem::path(a.log_file).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      return usage_error("--log-file: directory '" + dir.string() +
                         "' does not exist (create it, or use --no-log)");
  }
  if (!a.prom_file.empty()) {  // checked before the run: a run whose metrics cannot be written must not start
    namespace fs = std::filesystem;
    const fs::path path(a.prom_file);
    const auto dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      return usage_error("--prom-file: directory '" + dir.string() + "' does not exist");
    if (fs::exists(path, ec) && !fs::is_regular_file(path, ec))
      return usage_error("--prom-file: '" + a.prom_file + "' is not a regular file");
    const std::string probe = a.prom_file + ".tmp";
    if (FILE* f = std::fopen(probe.c_str(), "a"); f != nullptr) {
      std::fclose(f);
      std::remove(probe.c_str());
    } else {
      return usage_error("--prom-file: cannot write in '" + dir.string() + "'");
    }
  }
  auto conn = resolve_connection_options(a.url);
  if (!conn) return start_error(conn.error());
  o.dry_run = a.dry_run;
  o.recheck = a.recheck == "script"        ? Recheck::script
              : a.recheck == "transaction" ? Recheck::transaction
                                           : Recheck::automatic;
  o.orphans = a.orphans;
  o.absent = !a.no_absent;
  o.max_absent_records = a.max_absent_records;
  o.wait_for_lock = a.wait;
  o.stop = &g_stop;
  if (!a.schema_file.empty()) {
    auto s = load_key_schema(a.schema_file);
    if (!s) return usage_error(s.error().message());
    o.schema = *s;
  }
  const bool tty = ::isatty(2) == 1;
  if (tty) {
    o.on_progress = [](const CleanupProgress& p) {
      const double rate = p.elapsed_s > 0 ? p.keys_scanned / p.elapsed_s : 0;
      std::fprintf(stderr, "\r[%s] scanned %llu of %llu keys, stale %llu, deleted %llu, %.0f keys/s   ",
                   p.phase.c_str(), static_cast<unsigned long long>(p.keys_scanned),
                   static_cast<unsigned long long>(p.keys_total),
                   static_cast<unsigned long long>(p.stale_found),
                   static_cast<unsigned long long>(p.keys_deleted), rate);
    };
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  auto report = run_cleanup(*conn, o);
  if (tty) std::fprintf(stderr, "\r\033[K");
  const std::string log_path = a.log_file.empty() ? cli::default_log_path() : a.log_file;
  if (!report) {
    if (!a.no_log)
      (void)cli::append_failure_log(log_path, report.error().message(), conn->display(),
                                    a.log_format == "json");
    if (!a.prom_file.empty()) cli::write_prom_file(a.prom_file, nullptr, false);
    return start_error(report.error());
  }
  if (!a.mode.empty())
    report->notes.emplace_back("--mode is obsolete: every delete is atomic by default (see --recheck)");
  const bool ok = report->errors.empty();
  if (!a.no_log)
    if (auto err = cli::append_log(log_path, *report, conn->display(), a.log_format == "json"); !err.empty())
      std::cerr << "swarmkeeper: " << err << "\n";
  if (!a.prom_file.empty())
    if (auto err = cli::write_prom_file(a.prom_file, &*report, ok); !err.empty())
      std::cerr << "swarmkeeper: " << err << "\n";
  if (a.json)
    std::cout << cli::report_json(*report) << "\n";
  else
    std::cout << cli::report_text(*report);
  if (a.verbose && a.json) std::cerr << cli::report_text(*report);
  if (report->recheck == "reread-before-unlink" && !report->lock_busy)
    std::cerr
        << "swarmkeeper: WARNING: deletes were not atomic (re-read before UNLINK): see the report's notes\n";
  for (const auto& e : report->errors) std::cerr << "swarmkeeper: error: " << e << "\n";
  return ok ? kExitOk : kExitErrors;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"swarmkeeper — keeps a Redis-backed agent swarm healthy"};
  app.require_subcommand(1);
  const std::string version_line =
      fmt::format("swarmkeeper {} (revision {})", swarmkeeper::version(), swarmkeeper::revision());
  app.set_version_flag("--version", version_line,
                       "Print the version and the git revision it was built from, and exit");
  bool version_json = false;
  auto* version_cmd =
      app.add_subcommand("version", "Print the version and the git revision it was built from");
  version_cmd->add_flag("--json", version_json, "One JSON object: {\"version\": ..., \"revision\": ...}");

  CleanupArgs cleanup_args;
  auto* cleanup = app.add_subcommand("cleanup", "Delete the keys of coordinators whose heartbeat is stale");
  add_cleanup_options(cleanup, cleanup_args);

  cli::InspectArgs inspect_args;
  auto* inspect =
      app.add_subcommand("inspect",
                         "What is in your Redis: key shapes, TTLs, value formats, what the schema "
                         "claims, unreadable heartbeats, what a cleanup would do now");
  cli::add_inspect_options(inspect, inspect_args);

  std::optional<std::string> seed_url;
  SeedOptions seed_opts;
  std::int64_t stale_age = 660, active_age = 60;
  std::string seed_layout = "reference";
  bool seed_force = false;
  auto* seed = app.add_subcommand("seed",
                                  "Write the reference scenario's test data (6 keys per coordinator) to an "
                                  "empty database");
  seed->add_option("--url", seed_url,
                   "Redis URL (as for cleanup); required, or REDIS_URL: test data goes only where "
                   "you say");
  seed->add_flag("--force", seed_force, "Write even into a database that already holds keys");
  seed->add_option(
          "--layout", seed_layout,
          "reference: the reference scenario (no TTLs, a stale heartbeat); orchestrator: what the "
          "orchestrator "
          "writes (lastHeartbeat, JSON timestamps, TTLs; a stale coordinator's heartbeat and activity have "
          "expired)")
      ->check(CLI::IsMember({"reference", "orchestrator"}))
      ->capture_default_str();
  seed->add_option("--coordinators", seed_opts.coordinators, "Coordinators to write (1-100000000)")
      ->check(count_in(1, 100000000, "10000"))
      ->capture_default_str();
  seed->add_option("--stale", seed_opts.stale, "How many of them are stale (at most --coordinators)")
      ->check(count_in(0, 100000000, "9900"))
      ->capture_default_str();
  seed->add_option("--acks", seed_opts.acks, "ACK keys per coordinator (0-1000)")
      ->check(count_in(0, 1000, "2"))
      ->capture_default_str();
  seed->add_option("--prefix", seed_opts.prefix, "Coordinator id prefix")->capture_default_str();
  seed->add_flag("--hash-tags", seed_opts.hash_tags,
                 "Ids in braces ({id}): on a cluster each coordinator's keys share one slot, and every "
                 "delete is atomic");
  seed->add_option("--stale-age", stale_age, "Heartbeat age of stale coordinators, seconds")
      ->check(count_in(0, 315360000, "660"))
      ->capture_default_str();
  seed->add_option("--active-age", active_age, "Heartbeat age of active coordinators, seconds")
      ->check(count_in(0, 315360000, "60"))
      ->capture_default_str();

  cli::DemoArgs demo_args;
  auto* demo =
      app.add_subcommand("demo", "Seed 10,000 coordinators on a private redis-server, clean up, verify");
  demo->add_option("--url", demo_args.url, "Use this Redis instead of a private one (its data is flushed!)");
  demo->add_option("--coordinators", demo_args.coordinators, "Coordinators to seed")
      ->check(count_in(1, 10000000, "10000"))
      ->capture_default_str();
  demo->add_option("--stale", demo_args.stale, "How many of them are stale")
      ->check(count_in(0, 10000000, "9900"))
      ->capture_default_str();
  demo->add_flag("--cluster", demo_args.cluster,
                 "On a private 3-master Redis Cluster (or, with --url, treat that server as a cluster seed)");
  demo->add_flag("--hash-tags", demo_args.hash_tags,
                 "Seed ids in braces ({id}): each coordinator's keys in one slot");
  demo->add_option("--recheck", demo_args.recheck, "Cleanup recheck (as for cleanup)")
      ->check(CLI::IsMember({"auto", "script", "transaction"}))
      ->capture_default_str();

  cli::BenchCleanupArgs bench_args;
  std::string sizes_text;
  cli::ServeArgs serve_args;
  auto* serve = app.add_subcommand(
      "serve", "A live dashboard, alerts and Prometheus /metrics over Redis, the swarm and the cleanup");
  cli::add_serve_options(serve, serve_args);
  int hash_cost = 10;
  auto* hash_password = app.add_subcommand("hash-password",
                                           "Read a password on standard input and print its bcrypt hash, "
                                           "for basic_auth_users in serve's --web-config");
  hash_password->add_option("--cost", hash_cost, "bcrypt cost (4-17; each step doubles the work)")
      ->capture_default_str();

  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto* bench_cleanup = bench->add_subcommand(
      "cleanup",
      "The reference scenario's cleanup benchmark: Redis CPU against the floor, beside a peer script");
  bench_cleanup->add_option("--url", bench_args.url,
                            "Use this Redis instead of a private one (its data is flushed!)");
  bench_cleanup->add_option("--sizes", sizes_text,
                            "Comma-separated coordinator counts (default 100,1000,3000,10000,100000)");
  bench_cleanup->add_flag("--large", bench_args.large, "Add 1,000,000 coordinators");
  bench_cleanup->add_flag("--json", bench_args.json, "One JSON object on stdout");
  bench_cleanup
      ->add_flag(
          "--cluster", bench_args.cluster,
          "One private server beside a private 3-master cluster (plain and hash-tagged ids): Redis CPU "
          "per key deleted, side by side")
      ->excludes("--url");
  bench_cleanup->add_option("--recheck", bench_args.recheck, "Cleanup recheck (as for cleanup)")
      ->check(CLI::IsMember({"auto", "script", "transaction"}))
      ->capture_default_str();
  bench_cleanup->add_option("--peer-script", bench_args.peer_script,
                            "A Lua cleanup script to run beside ours, as the reference peer is run (none: "
                            "the peer column is skipped)");
  bench_cleanup
      ->add_option("--peer-cap", bench_args.peer_cap_s,
                   "Skip the peer where its projected time exceeds this (s)")
      ->check(decimal_in(0.001, 86400, "30"))
      ->capture_default_str();

  cli::BenchBlocksArgs blocks_args;
  auto* bench_blocks = bench->add_subcommand(
      "blocks", "The building blocks (percentiles, event queue, scheduler, cache) beside their peers");
  bench_blocks->add_flag("--json", blocks_args.json, "One JSON object on stdout");
  bench_blocks->add_option("--url", blocks_args.url,
                           "Server for the cache workloads (default: a private redis-server)");

  cli::BenchClientArgs client_args;
  cli::BenchServeArgs serve_bench_args;
  auto* bench_serve =
      bench->add_subcommand("serve",
                            "The monitor's costs: idle Redis CPU, a census at N coordinators with "
                            "scrapes meanwhile, history memory, 50 SSE clients");
  bench_serve->add_option("--url", serve_bench_args.url,
                          "Use this server (it is FLUSHED and seeded) instead of a private one");
  bench_serve
      ->add_option("--coordinators", serve_bench_args.coordinators,
                   "Coordinators for the census (1-10000000)")
      ->check(count_in(1, 10000000, "1000000"))
      ->capture_default_str();
  bench_serve
      ->add_option("--census-budget", serve_bench_args.census_budget, "The census' Redis CPU budget, percent")
      ->check(decimal_in(0.1, 100, "5"))
      ->capture_default_str();
  bench_serve->add_flag("--json", serve_bench_args.json, "One JSON object on stdout");
  auto* bench_client = bench->add_subcommand(
      "client",
      "The client validation suite (latency, pool, batching, compression, load, recovery, stress, idle "
      "memory) and its score, or a plain GET/SET throughput run");
  bench_client->add_option("--url", client_args.url,
                           "Use this Redis instead of a private one (keys are overwritten!)");
  bench_client->add_option("--concurrency", client_args.concurrency, "Concurrent callers")
      ->check(count_in(1, 100000, "64"))
      ->capture_default_str();
  bench_client->add_option("--seconds", client_args.seconds, "Length of the load runs")
      ->check(decimal_in(0.01, 86400, "30"))
      ->capture_default_str();
  bench_client
      ->add_option("--mix", client_args.mix,
                   "get-set: only the plain throughput run (GET/SET of small values, the workload ioredis is "
                   "measured on)")
      ->check(CLI::IsMember({"get-set"}));
  bench_client->add_option("--connections", client_args.connections, "Max pool connections (default 20)")
      ->check(count_in(1, 10000, "20"));
  bench_client->add_flag("--json", client_args.json, "One JSON object on stdout");
  bench_client
      ->add_option("--threads", client_args.threads,
                   "get-set: the client's I/O threads, callers spread over them (default: one per core)")
      ->check(CLI::Range(0, 256));
  bench_client
      ->add_option("--busy-poll", client_args.busy_poll_us,
                   "get-set: microseconds an idle I/O thread polls before it sleeps (default 50)")
      ->check(CLI::Range(0, 100000));
  bench_client->add_flag("--cluster", client_args.cluster,
                         "The get-set run on a Redis Cluster: a private 3-master one, "
                         "or --url redis+cluster://...");

  // The older name for the threshold still works; SWARMKEEPER_THRESHOLD wins.
  const char* own_threshold = std::getenv("SWARMKEEPER_THRESHOLD");
  if (const char* old = std::getenv("STALE_THRESHOLD_SECONDS");
      old && *old && !(own_threshold && *own_threshold))
    ::setenv("SWARMKEEPER_THRESHOLD", old, 1);
  // SWARMKEEPER_<FLAG> variables are read for the command being run only (CLI11 would
  // otherwise validate every subcommand's: a cleanup setting could stop serve).
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("-")) continue;
    if (arg == "cleanup") cli::options_from_environment(cleanup);
    if (arg == "serve") cli::options_from_environment(serve);
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return usage_error(e.what());
  }

  if (*version_cmd) {
    if (version_json)
      std::cout << fmt::format("{{\"version\":\"{}\",\"revision\":\"{}\"}}\n", swarmkeeper::version(),
                               swarmkeeper::revision());
    else
      std::cout << version_line << "\n";
    return kExitOk;
  }
  if (*cleanup) return run_cleanup_command(cleanup_args);
  if (*inspect) return cli::run_inspect(inspect_args);
  if (*seed) {
    const char* env_url = std::getenv("REDIS_URL");
    if (!seed_url && !(env_url && *env_url))
      return usage_error(
          "seed writes test data: name the database with --url or REDIS_URL (no default target)");
    auto conn = resolve_connection_options(seed_url);
    if (!conn) return start_error(conn.error());
    if (!seed_force) {
      auto keys = count_keys(*conn);
      if (!keys) return start_error(keys.error());
      if (*keys > 0)
        return usage_error(conn->display() + " already holds " + std::to_string(*keys) +
                           " keys: seed writes test data beside them; use an empty database, or --force");
    }
    if (seed_opts.stale > seed_opts.coordinators)
      return usage_error(swarmkeeper::bad_value("--stale", std::to_string(seed_opts.stale),
                                                "at most --coordinators", "9900"));
    seed_opts.stale_age = std::chrono::seconds(stale_age);
    seed_opts.layout = seed_layout == "orchestrator" ? SeedLayout::orchestrator : SeedLayout::seeds;
    seed_opts.active_age = std::chrono::seconds(active_age);
    auto r = seed_scenario(*conn, seed_opts);
    if (!r) return start_error(r.error());
    std::cout << "wrote " << r->keys_written << " keys (" << seed_opts.coordinators << " coordinators, "
              << seed_opts.stale << " stale) in " << r->elapsed_ms << " ms\n";
    return kExitOk;
  }
  if (*demo) return cli::run_demo(demo_args);
  if (*serve) {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    for (int sig : {SIGINT, SIGTERM}) ::sigaction(sig, &sa, nullptr);
    struct sigaction hup {};
    hup.sa_handler = on_reload_signal;
    ::sigaction(SIGHUP, &hup, nullptr);
    return cli::run_serve(serve_args, g_stop, g_reload);
  }
  if (*hash_password) return cli::run_hash_password(hash_cost);
  if (*bench_client) return cli::run_bench_client(client_args);
  if (*bench_blocks) return cli::run_bench_blocks(blocks_args);
  if (*bench_serve) return cli::run_bench_serve(serve_bench_args);
  if (*bench_cleanup) {
    if (!sizes_text.empty()) {
      bench_args.sizes.clear();
      std::stringstream ss(sizes_text);
      for (std::string item; std::getline(ss, item, ',');) {
        try {
          const auto v = swarmkeeper::parse_count(item, 1, 10000000);
          if (!v) throw std::invalid_argument(item);
          bench_args.sizes.push_back(*v);
        } catch (...) {
          return usage_error(
              swarmkeeper::bad_value("--sizes", item, "a whole number from 1 to 10000000", "1000,10000"));
        }
      }
    }
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    return cli::run_bench_cleanup(bench_args,
                                  n > 0 ? std::string(self, static_cast<std::size_t>(n)) : argv[0]);
  }
  return kExitOk;
}
