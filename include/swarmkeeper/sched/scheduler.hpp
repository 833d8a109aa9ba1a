// SPDX-License-Identifier: Apache-2.0
// scheduler.hpp — one-shot, delayed and periodic jobs on a small thread pool, with
// per-job timeouts and cancellation through std::stop_token (no Redis knowledge).
//
// Every job gets a std::stop_token. cancel(), a timeout or shutdown requests stop on it;
// a job that has not started yet never starts. Jobs are cooperative: a running job ends
// when its function returns, and only then is it counted (done, failed, timed_out or
// cancelled). The scheduler holds one entry per live job — its stop source — and
// releases it the moment the job ends, however it ends: nothing is swept by age, so
// active_handles() is exactly the number of jobs scheduled or running (0 when idle).
//
// Periodic jobs run again `period` after each run ends (fixed delay: runs never
// overlap). A run that throws or times out does not stop a periodic job; cancel() does.
//
// Shutdown: no job starts after shutdown() begins (submit() returns an already-cancelled
// handle). Shutdown::cancel requests stop on every job, drops those not started, and
// waits for running ones to return; Shutdown::drain lets every one-shot job already
// submitted run (delayed ones at their time), stops periodic jobs after their current
// run, and waits. Both then join the threads. The destructor calls shutdown(cancel).
//
// Threading: every member is safe from any thread, including from inside a job or a
// std::stop_callback (stop is always requested with no scheduler lock held), except
// shutdown() from inside a job, which would wait for the calling job itself.
//
//   Scheduler s({.threads = 2});
//   auto h = s.submit([](std::stop_token st) { while (!st.stop_requested()) work(); },
//                     {.period = std::chrono::seconds(5), .timeout = std::chrono::seconds(1)});
//   h.cancel();
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>

namespace swarmkeeper::sched {

enum class JobState : std::uint8_t {
  pending,  ///< scheduled, not running now
  running,
  done,       ///< returned normally (a periodic job: cancelled or shut down after at least one run)
  failed,     ///< threw (one-shot jobs; a periodic job goes on)
  timed_out,  ///< its last run was asked to stop at its timeout (one-shot jobs)
  cancelled,  ///< cancelled (or shut down) before it could finish normally (before any run, for a periodic
              ///< job)
};

struct JobOptions {
  /// Time before the first run. Default 0 (as soon as a thread is free).
  std::chrono::milliseconds delay{0};
  /// 0: run once. Otherwise run again this long after each run ends. Default 0.
  std::chrono::milliseconds period{0};
  /// 0: none. Otherwise stop is requested on a run's token this long after it starts,
  /// and the run counts as timed out. Default 0.
  std::chrono::milliseconds timeout{0};
};

struct SchedulerOptions {
  /// Worker threads. Default 2.
  unsigned threads = 2;
};

/// How jobs ended (each job once: done + failed + timed_out + cancelled = jobs ended),
/// and how periodic jobs' runs went (a periodic job goes on after a failed run).
struct SchedulerStats {
  std::uint64_t submitted = 0, runs = 0, done = 0, failed = 0, timed_out = 0, cancelled = 0;
  std::uint64_t run_failures = 0, run_timeouts = 0;  ///< periodic runs that threw / timed out
};

namespace detail {
struct Job;
}

/// A job's handle: cheap to copy, valid after the job ended and after the scheduler is
/// gone. Holding one keeps nothing alive in the scheduler.
class JobHandle {
 public:
  JobHandle() = default;
  /// Requests stop; a job not started never starts, a periodic job is not run again.
  void cancel() const;
  JobState state() const;
  /// True once the job ended (done, failed, timed_out, cancelled).
  bool finished() const;
  /// Waits until the job ended.
  void wait() const;

 private:
  friend class Scheduler;
  explicit JobHandle(std::shared_ptr<detail::Job> job) : job_(std::move(job)) {}
  std::shared_ptr<detail::Job> job_;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Schedules a job. After shutdown began, returns a handle already cancelled.
  JobHandle submit(std::function<void(std::stop_token)> job, JobOptions options = {});

  /// Jobs scheduled or running.
  std::size_t active_jobs() const;
  /// Stop sources the scheduler holds: one per live job, released the moment it ends.
  std::size_t active_handles() const;
  SchedulerStats stats() const;

  enum class Shutdown { cancel, drain };
  /// Stops new work, cancels or drains (see the header comment), joins. Idempotent.
  void shutdown(Shutdown mode = Shutdown::cancel);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace swarmkeeper::sched
