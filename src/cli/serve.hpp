// SPDX-License-Identifier: Apache-2.0
// serve.hpp — `swarmkeeper serve`: the monitor until SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

namespace swarmkeeper::cli {

struct ServeArgs {
  std::optional<std::string> url;
  std::string listen = "127.0.0.1:9840";
  bool insecure_listen = false;
  std::string web_config;
  std::vector<std::string> web_public;
  std::vector<std::string> web_hostnames;
  std::string refresh = "5s", history = "1h", threshold = "600";
  std::optional<std::string> census_every;
  std::optional<std::string> cleanup_every, webhook;
  std::string webhook_format = "auto", webhook_resend = "1m", webhook_ca, webhook_auth_file;
  std::string rules_file, schema_file, assets_dir;
  std::vector<std::string> queues;
  double census_budget = 5;
  std::string log_format = "text";
};

/// Adds serve's options to its subcommand.
void add_serve_options(CLI::App* serve, ServeArgs& a);
/// Runs the monitor until *stop; returns the exit code (0 on a clean stop, 64 usage,
/// 1 cannot authenticate or listen; Redis unreachable is not an exit: serve starts and
/// waits for it, with swarmkeeper_redis_up 0).
/// *reload turning true (SIGHUP) re-reads --web-config; run_serve sets it back.
int run_serve(const ServeArgs& a, const std::atomic<bool>& stop, std::atomic<bool>& reload);

/// `swarmkeeper hash-password`: reads a password (one line) from standard input, without
/// echo on a terminal, and prints its bcrypt hash for basic_auth_users. 0, or 64 for an
/// empty password, more than one line, over 72 bytes or a cost outside 4-17, 1 if the
/// system's crypt fails.
int run_hash_password(int cost);

}  // namespace swarmkeeper::cli
