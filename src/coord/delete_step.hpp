// SPDX-License-Identifier: Apache-2.0
// delete_step.hpp — carries out one CheckedUnlink (cleanup_plan.hpp) on the server, in
// the strongest way the server allows:
//   script       one EVALSHA of the checked-unlink script (scripts.hpp): compare and
//                unlink in one atomic step (the default);
//   transaction  WATCH the heartbeats, read them, compare on the client, then
//                MULTI/UNLINK/EXEC; a heartbeat that changes after WATCH fails the EXEC
//                and the batch is settled again (atomic; one at a time per connection);
//   reread       read, compare, UNLINK: NOT atomic (a renewal in between is missed);
//                only when the server refuses both others (never by request), and said.
// A dry run reads and compares the same way and counts with EXISTS instead of UNLINK.
//
// Threading: the connection's executor only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "coord/cleanup_plan.hpp"
#include "coord/in_flight.hpp"
#include "net/connection.hpp"
#include "swarmkeeper/coord/cleanup.hpp"

namespace swarmkeeper::coord {

/// What the engine needs of a way to delete: one server (DeleteStep) or a cluster
/// (cluster_delete_step.hpp).
class Deleter {
 public:
  virtual ~Deleter() = default;
  /// Chooses the way to delete, strongest first, as `want` allows (automatic: script,
  /// else transaction, else reread). Adds a note when it falls back; fails only when a
  /// forced way (script or transaction) is refused, with the server's reason.
  virtual boost::asio::awaitable<Result<void>> choose(Recheck want, std::vector<std::string>& notes) = 0;
  /// The way chosen (script, transaction or reread).
  virtual Recheck method() const noexcept = 0;
  /// "" if every delete was atomic; else how many batches were not, and the longest
  /// window between re-reading their heartbeats and the UNLINK (for the report).
  virtual std::string nonatomic_summary() const = 0;
  /// Carries out one batch. Fails with the server's or the connection's error; checks
  /// that did not hold are not an error (they are in the outcome).
  virtual boost::asio::awaitable<Result<UnlinkOutcome>> run(const CheckedUnlink& batch) = 0;
  /// Adds what this way of deleting has to report (the cluster's cross-slot counts).
  virtual void report(CleanupReport&) const {}
};

/// The checked-unlink script's call for one batch (EVALSHA sha, or EVAL body), and the
/// batch's check index of each of the script's checks (to read its reply back).
struct ScriptCall {
  resp::Command command;
  std::vector<std::uint32_t> order;
};
ScriptCall checked_unlink_call(const CheckedUnlink& b, std::string_view sha_or_body, bool is_sha = true);
/// The script's reply, as an outcome (indices back in the batch's terms).
Result<UnlinkOutcome> checked_unlink_outcome(const resp::Reply& r, const std::vector<std::uint32_t>& order);

class DeleteStep final : public Deleter {
 public:
  DeleteStep(boost::asio::any_io_executor ex, std::shared_ptr<net::Connection> conn, bool dry_run);

  boost::asio::awaitable<Result<void>> choose(Recheck want, std::vector<std::string>& notes) override;
  Recheck method() const noexcept override { return method_; }
  std::string nonatomic_summary() const override;
  boost::asio::awaitable<Result<UnlinkOutcome>> run(const CheckedUnlink& batch) override;

 private:
  boost::asio::awaitable<Result<UnlinkOutcome>> run_script(const CheckedUnlink& b);
  boost::asio::awaitable<Result<UnlinkOutcome>> run_transaction(const CheckedUnlink& b);
  boost::asio::awaitable<Result<UnlinkOutcome>> run_reread(const CheckedUnlink& b);
  boost::asio::awaitable<Result<std::vector<std::uint8_t>>> read_checks(const CheckedUnlink& b, bool watch,
                                                                        UnlinkOutcome& out);
  boost::asio::awaitable<Result<resp::Reply>> exec(const resp::Command& c) { return conn_->exec(c); }

  std::shared_ptr<net::Connection> conn_;
  bool dry_run_;
  Recheck method_ = Recheck::script;
  std::string sha_;
  InFlight tx_;  // one WATCH..EXEC at a time on the connection
  std::uint64_t nonatomic_batches_ = 0;
  std::chrono::steady_clock::duration max_window_{};
};

/// The keys of the groups whose checks all hold (ok[i]: check i holds).
std::vector<std::string_view> passing_keys(const CheckedUnlink& b, const std::vector<std::uint8_t>& ok);

/// A MessagePack array of unsigned integers (what cmsgpack.unpack reads as a Lua table).
std::string msgpack_uint_array(std::span<const std::uint32_t> values);

}  // namespace swarmkeeper::coord
