// SPDX-License-Identifier: Apache-2.0
// demo.cpp — see demo.hpp.
#include "cli/demo.hpp"

#include <iostream>

#include "cli/cleanup_output.hpp"
#include "cli/private_target.hpp"
#include "net/redis_process.hpp"
#include "swarmkeeper/coord/cleanup.hpp"
#include "swarmkeeper/coord/seed.hpp"

namespace swarmkeeper::cli {

int run_demo(const DemoArgs& args) {
  int exit_code = 0;
  std::optional<Target> target;
  std::unique_ptr<RedisCluster> cluster;
  ConnectionOptions conn;
  if (args.cluster && !args.url) {
    auto c = RedisCluster::start(3);
    if (!c) {
      std::cerr << "swarmkeeper demo: " << c.error().message() << "\n";
      return 1;
    }
    cluster = std::move(*c);
    conn.port = cluster->nodes()[0]->port();
    conn.cluster = true;
    std::cout << "Started a private 3-master Redis Cluster on 127.0.0.1:";
    for (std::size_t i = 0; i < cluster->nodes().size(); ++i)
      std::cout << (i ? "," : "") << cluster->nodes()[i]->port();
    std::cout << " (stopped at the end)\n";
  } else {
    target = open_target(args.url, "demo", exit_code);
    if (!target) return exit_code;
    conn = target->connection;
    if (args.cluster) conn.cluster = true;
    if (target->server)
      std::cout << "Started a private redis-server on 127.0.0.1:" << target->server->port()
                << " (stopped at the end)\n";
  }
  SeedOptions seed;
  seed.hash_tags = args.hash_tags;
  seed.coordinators = args.coordinators;
  seed.stale = args.stale;
  auto seeded = seed_scenario(conn, seed);
  if (!seeded) {
    std::cerr << "swarmkeeper demo: seeding failed: " << seeded.error().message() << "\n";
    return seeded.error().code() == Errc::invalid_argument ? 64 : 1;
  }
  std::cout << "Seeded " << seed.coordinators << " coordinators (" << seed.stale
            << " stale, heartbeat 660 s old; " << seed.coordinators - seed.stale
            << " active, 60 s old): " << seeded->keys_written << " keys in " << seeded->elapsed_ms
            << " ms\n\n";
  CleanupOptions options;
  options.recheck = args.recheck == "script"        ? Recheck::script
                    : args.recheck == "transaction" ? Recheck::transaction
                                                    : Recheck::automatic;
  auto report = run_cleanup(conn, options);
  if (!report) {
    std::cerr << "swarmkeeper demo: cleanup could not start: " << report.error().message() << "\n";
    return 1;
  }
  std::cout << report_text(*report) << "\n";
  auto check = verify_scenario(conn, seed);
  if (!check) {
    std::cerr << "swarmkeeper demo: verification failed: " << check.error().message() << "\n";
    return 2;
  }
  const auto pct = [](std::uint64_t a, std::uint64_t b) {
    return b == 0 ? 100.0 : 100.0 * static_cast<double>(a) / static_cast<double>(b);
  };
  std::printf(
      "Verification, key by key:\n  stale keys removed: %llu of %llu (%.1f %%)\n  active keys intact: %llu "
      "of %llu (%.1f %%)\n",
      static_cast<unsigned long long>(check->stale_keys_total - check->stale_keys_left),
      static_cast<unsigned long long>(check->stale_keys_total),
      pct(check->stale_keys_total - check->stale_keys_left, check->stale_keys_total),
      static_cast<unsigned long long>(check->active_keys_present),
      static_cast<unsigned long long>(check->active_keys_total),
      pct(check->active_keys_present, check->active_keys_total));
  const bool pass = check->perfect() && report->errors.empty();
  std::cout << (pass ? "Verdict: PASS" : "Verdict: FAIL") << "\n";
  return pass ? 0 : 2;
}

}  // namespace swarmkeeper::cli
