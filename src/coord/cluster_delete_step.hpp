// SPDX-License-Identifier: Apache-2.0
// cluster_delete_step.hpp — the cleanup's delete step on a Redis Cluster.
//
// A script or a transaction reaches one slot only, and a coordinator's keys usually
// hash to different slots. So each batch is split by slot (split_by_slot, no I/O):
//   atomic  every group whose checks and keys share one slot — all of a coordinator's
//           keys when they carry its id as a hash tag, e.g. blocking:heartbeat:{c1},
//           blocking:ack:{c1}:a, and no other id could own them — and, of a group whose
//           checks all share one slot, the keys in that slot (the heartbeat itself,
//           last): the checked-unlink script on that slot's master, as on one server;
//   across  everything else: the keys of a group outside its checks' slot, and every
//           key of a group whose checks span slots (liveness records of plain ids in two
//           slots; or a check that *another* id the key's name could mean has no
//           heartbeat, when that heartbeat lives in another slot). Their checks are
//           re-read (GET / EXISTS on their own masters) and compared; the keys of groups
//           that still hold are UNLINKed; then the checks are read once more, and a
//           change is counted (renewedInDeleteWindow) and said loudly (keys may be lost).
// The across part goes first, so a renewal before the atomic step keeps the heartbeat
// and every key not yet deleted. A check that cannot be made in the deleting slot's
// atomic step is never read beforehand and trusted: its group is across, whole. The
// report says how many keys went across, and the longest window; any across key makes
// the run's recheck "atomic-per-slot, reread-across-slots", never "atomic-script".
//
// Threading: the cluster client's executor only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coord/cleanup_plan.hpp"
#include "coord/delete_step.hpp"
#include "swarmkeeper/client/cluster_client.hpp"

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
  /// Groups that went across with their own liveness records among their keys: those
  /// records are not in the cross-slot UNLINK but each in the atomic step of its own
  /// slot, checked against its own bytes. Per such group, the checks of those records:
  /// one held and another did not means a record went while another was renewed.
  std::vector<std::vector<std::uint32_t>> split_liveness;
};

/// Splits a batch by slot. A group's home is the slot of its byte checks (its owners'
/// liveness records as read), or of its first key when it has none:
///   - every check in home: keys in home go to home's atomic part with the checks; keys
///     elsewhere go to `across` with the checks (re-read, then UNLINK, then re-read);
///   - a check outside home (byte checks in two slots; an absence check of another
///     possible owner whose heartbeat lives elsewhere): the group goes to `across`,
///     except its own liveness records (keys that are its byte checks), each of which
///     goes to the atomic part of its slot with the group's checks there (its own bytes
///     among them), so a renewal between the re-read and the UNLINK keeps it;
///   - all_across (dry runs, servers that refuse scripts): the whole group goes across;
///   - no checks: each slot's keys are an atomic part of their own.
/// With `failed` (per check of the batch: it did not hold when `across` ran), returns
/// only the atomic parts, without the groups that have a failed check.
/// Keys keep their group order within each part.
SlotSplit split_by_slot(const CheckedUnlink& batch, bool all_across = false,
                        const std::vector<std::uint8_t>* failed = nullptr);

class ClusterDeleteStep final : public Deleter {
 public:
  /// inside_window: called once, after the first batch's across part (a test seam).
  ClusterDeleteStep(std::shared_ptr<ClusterClient> client, bool dry_run,
                    std::function<void()> inside_window = {});

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
  boost::asio::awaitable<Result<void>> run_atomic(const std::vector<SlotSplit::Part>& parts,
                                                  UnlinkOutcome& out);
  boost::asio::awaitable<Result<std::vector<std::uint8_t>>> read_checks(const CheckedUnlink& b,
                                                                        std::vector<std::uint8_t>* gone);

  std::shared_ptr<ClusterClient> client_;
  bool dry_run_;
  std::function<void()> inside_window_;
  Recheck method_ = Recheck::script;
  std::string sha_;
  std::uint64_t across_keys_ = 0, across_batches_ = 0, renewed_in_window_ = 0, atomic_keys_ = 0;
  std::chrono::steady_clock::duration max_window_{};
};

}  // namespace swarmkeeper::coord
