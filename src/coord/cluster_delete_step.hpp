// cluster_delete_step.hpp — the cleanup's delete step on a Redis Cluster.
//
// A script or a transaction reaches one slot only, and a coordinator's keys usually
// hash to different slots. So each batch is split by slot (split_by_slot, no I/O):
//   atomic  every group whose checks (heartbeats) and keys share one slot — all of a
//           coordinator's keys when they carry its id as a hash tag, e.g.
//           blocking:heartbeat:{c1}, blocking:ack:{c1}:a — and, of any group, the keys
//           in its heartbeat's slot (the heartbeat itself, last): the checked-unlink
//           script on that slot's master, exactly as on one server;
//   across  the other keys of a group: their heartbeats are re-read (GET / EXISTS on
//           their own masters) and compared; the keys of groups that still hold are
//           UNLINKed; then the heartbeats are read once more, and a change is reported
//           loudly as a renewal inside the window (its keys may be lost). Checks that
//           another id the key's name could mean has no heartbeat, when that heartbeat
//           would live in another slot, are read here too, before the atomic step.
// The across part goes first, so a coordinator's heartbeat is still the last key to go,
// and only in an atomic step: a renewal before that step keeps the heartbeat and every
// key not yet deleted. The guarantee across slots is therefore "re-read right before the
// UNLINK", not atomic; the report says how many keys went that way and the longest window.
//
// Threading: the cluster client's executor only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coord/cleanup_plan.hpp"
#include "coord/delete_step.hpp"
#include "swarmkeeper/cluster_client.hpp"

namespace swarmkeeper::coord {

/// A batch split by slot.
struct SlotSplit {
  struct Part {
    std::uint16_t slot = 0;
    CheckedUnlink batch;
    std::vector<std::uint32_t> check_of;  ///< per check of `batch`: its index in the original batch
  };
  /// Keys outside their checks' slot (or whose checks span slots): re-read, then UNLINK.
  Part across;
  /// One atomic step per slot, run after `across`.
  std::vector<Part> atomic;
};

/// Splits a batch by slot. A group's home is the slot of its byte checks (its owners'
/// heartbeats), or of its first key when it has none:
///   - keys in home go to home's atomic part, with the group's checks in home;
///   - keys elsewhere go to `across` with all the group's checks (re-read, then UNLINK);
///   - absence checks elsewhere (another id the key's name could mean) go to `across`
///     as a group of no keys, read before the atomic steps;
///   - byte checks in several slots, or all_across (dry runs, servers that refuse
///     scripts): the whole group goes to `across`.
/// With `failed` (per check of the batch: it did not hold when `across` ran), returns
/// only the atomic parts, without the groups that have a failed check.
/// Keys keep their group order within each part.
SlotSplit split_by_slot(const CheckedUnlink& batch, bool all_across = false,
                        const std::vector<std::uint8_t>* failed = nullptr);

class ClusterDeleteStep final : public Deleter {
 public:
  ClusterDeleteStep(std::shared_ptr<ClusterClient> client, bool dry_run);

  /// Loads the script on every master (automatic, script). A refusal falls back to
  /// re-reads everywhere (said loudly) unless script was asked for; transaction is
  /// refused on a cluster (WATCH reaches one slot): invalid_argument.
  boost::asio::awaitable<Result<void>> choose(Recheck want, std::vector<std::string>& notes) override;
  Recheck method() const noexcept override { return method_; }
  std::string nonatomic_summary() const override;
  boost::asio::awaitable<Result<UnlinkOutcome>> run(const CheckedUnlink& batch) override;
  void report(CleanupReport& r) const override;

 private:
  boost::asio::awaitable<Result<void>> run_across(const SlotSplit::Part& part, UnlinkOutcome& out);
  boost::asio::awaitable<Result<void>> run_atomic(const std::vector<SlotSplit::Part>& parts, UnlinkOutcome& out);
  boost::asio::awaitable<Result<std::vector<std::uint8_t>>> read_checks(const CheckedUnlink& b,
                                                                         std::vector<std::uint8_t>* gone);

  std::shared_ptr<ClusterClient> client_;
  bool dry_run_;
  Recheck method_ = Recheck::script;
  std::string sha_;
  std::uint64_t across_keys_ = 0, across_batches_ = 0, renewed_in_window_ = 0, atomic_keys_ = 0;
  std::chrono::steady_clock::duration max_window_{};
};

}  // namespace swarmkeeper::coord
