// SPDX-License-Identifier: Apache-2.0
// scheduler.cpp — see swarmkeeper/sched/scheduler.hpp.
//
// One timer thread keeps a time-ordered map of events (a job's next run, a run's
// deadline) and moves due runs to a ready queue; worker threads run them. All shared
// state is in Core, guarded by Core::mu; a job's own stop source and flags are guarded
// by Job::mu (so cancel() from any thread never waits on the scheduler's lock for long).
// Jobs hold a weak_ptr to Core: a handle that outlives the scheduler still works.
#include "swarmkeeper/sched/scheduler.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace swarmkeeper::sched {

using Clock = std::chrono::steady_clock;

namespace detail {

struct Core;

struct Job {
  std::uint64_t id = 0;
  std::function<void(std::stop_token)> fn;
  JobOptions options;
  std::weak_ptr<Core> core;
  std::atomic<JobState> state{JobState::pending};

  std::mutex mu;  // guards the fields below
  std::condition_variable ended;
  std::stop_source run_stop;  // the current run's
  std::uint64_t run_no = 0;
  bool cancel_requested = false;
  bool run_timed_out = false;
  bool finished = false;
};

// A due run or a run's deadline. It holds the job weakly: a job that ended is gone at
// once, even with events of it still in the map (they are skipped when due).
struct Event {
  std::weak_ptr<Job> job;
  bool deadline = false;     // else: a run is due
  std::uint64_t run_no = 0;  // for deadlines: the run they belong to
};

struct Core {
  std::mutex mu;  // guards everything below
  std::condition_variable timer_cv, work_cv, idle_cv;
  std::multimap<Clock::time_point, Event> timers;
  std::deque<std::shared_ptr<Job>> ready;
  std::unordered_map<std::uint64_t, std::shared_ptr<Job>> live;  // one stop source each
  std::vector<std::shared_ptr<Job>> cancelled;                   // cancel() asked: release if not running
  SchedulerStats stats;
  std::uint64_t next_id = 1;
  bool stopping = false, draining = false, exit = false;

  // Ends a job: releases its entry, records how it ended, wakes its waiters.
  // REQUIRES: mu held.
  void finish(const std::shared_ptr<Job>& job, JobState how) {
    if (live.erase(job->id) == 0) return;  // ended already
    job->state = how;
    switch (how) {
      case JobState::done: ++stats.done; break;
      case JobState::failed: ++stats.failed; break;
      case JobState::timed_out: ++stats.timed_out; break;
      default: ++stats.cancelled; break;
    }
    {
      std::lock_guard lock(job->mu);
      job->finished = true;
      job->fn = nullptr;  // release what the job captured, now
    }
    job->ended.notify_all();
    if (live.empty()) idle_cv.notify_all();
  }
};

}  // namespace detail

using detail::Core;
using detail::Event;
using detail::Job;

void JobHandle::cancel() const {
  if (!job_) return;
  std::stop_source stop;
  {
    std::lock_guard lock(job_->mu);
    if (job_->finished) return;
    job_->cancel_requested = true;
    stop = job_->run_stop;
  }
  stop.request_stop();  // with no lock held: stop callbacks may call back into the scheduler
  if (auto core = job_->core.lock()) {
    std::lock_guard lock(core->mu);
    core->cancelled.push_back(job_);
    core->timer_cv.notify_one();
  }
}

JobState JobHandle::state() const {
  return job_ ? job_->state.load() : JobState::cancelled;
}

bool JobHandle::finished() const {
  if (!job_) return true;
  std::lock_guard lock(job_->mu);
  return job_->finished;
}

void JobHandle::wait() const {
  if (!job_) return;
  std::unique_lock lock(job_->mu);
  job_->ended.wait(lock, [&] { return job_->finished; });
}

namespace {
// How a job that is not running ends when cancelled or shut down: a periodic job that
// has run is done (its runs were its work); anything else is cancelled.
JobState ended_by_cancel(Job& job) {
  std::lock_guard lock(job.mu);
  return job.options.period.count() > 0 && job.run_no > 0 ? JobState::done : JobState::cancelled;
}
}  // namespace

struct Scheduler::Impl {
  std::shared_ptr<Core> core = std::make_shared<Core>();
  std::vector<std::thread> threads;
  std::mutex shutdown_mu;  // one shutdown at a time
  bool joined = false;     // guarded by shutdown_mu

  void timer_loop();
  void worker_loop();
};

void Scheduler::Impl::timer_loop() {
  Core& c = *core;
  std::unique_lock lock(c.mu);
  while (!c.exit) {
    // Cancelled jobs that are not running are released at once (a delayed job cancelled
    // an hour early does not hold its entry for an hour).
    for (auto& job : std::exchange(c.cancelled, {}))
      if (job->state != JobState::running) c.finish(job, ended_by_cancel(*job));
    const auto now = Clock::now();
    std::vector<std::stop_source> to_stop;
    while (!c.timers.empty() && c.timers.begin()->first <= now) {
      Event ev = std::move(c.timers.begin()->second);
      c.timers.erase(c.timers.begin());
      std::shared_ptr<Job> job = ev.job.lock();
      if (!job || !c.live.count(job->id)) continue;  // ended meanwhile
      if (ev.deadline) {
        std::lock_guard jl(job->mu);
        if (job->run_no == ev.run_no && job->state == JobState::running) {
          job->run_timed_out = true;
          to_stop.push_back(job->run_stop);
        }
        continue;
      }
      c.ready.push_back(std::move(job));
      c.work_cv.notify_one();
    }
    if (!to_stop.empty()) {  // stop callbacks run with no lock held
      lock.unlock();
      for (auto& st : to_stop) st.request_stop();
      lock.lock();
      continue;
    }
    if (c.timers.empty())
      c.timer_cv.wait(lock);
    else
      c.timer_cv.wait_until(lock, c.timers.begin()->first);
  }
}

void Scheduler::Impl::worker_loop() {
  Core& c = *core;
  std::unique_lock lock(c.mu);
  for (;;) {
    c.work_cv.wait(lock, [&] { return c.exit || !c.ready.empty(); });
    if (c.ready.empty()) return;  // exit
    std::shared_ptr<Job> job = std::move(c.ready.front());
    c.ready.pop_front();
    if (!c.live.count(job->id)) continue;
    std::stop_token token;
    std::uint64_t run_no = 0;
    bool cancelled_before = false;
    {
      std::lock_guard jl(job->mu);
      cancelled_before = job->cancel_requested;
      if (!cancelled_before) {
        job->run_stop = std::stop_source();
        job->run_timed_out = false;
        run_no = ++job->run_no;
        token = job->run_stop.get_token();
        job->state = JobState::running;
      }
    }
    if (cancelled_before) {  // finish() takes job->mu itself; a periodic job that ran is done
      c.finish(job, ended_by_cancel(*job));
      continue;
    }
    if (job->options.timeout.count() > 0) {
      c.timers.emplace(Clock::now() + job->options.timeout, Event{job, true, run_no});
      c.timer_cv.notify_one();
    }
    ++c.stats.runs;
    lock.unlock();
    bool threw = false;
    try {
      job->fn(token);
    } catch (...) {
      threw = true;
    }
    lock.lock();
    bool cancelled = false, timed_out = false;
    {
      std::lock_guard jl(job->mu);
      cancelled = job->cancel_requested;
      timed_out = job->run_timed_out;
    }
    if (job->options.period.count() > 0) {
      if (threw) ++c.stats.run_failures;  // a periodic job goes on after a failed or timed-out run
      if (timed_out) ++c.stats.run_timeouts;
      if (!cancelled && !c.stopping) {
        job->state = JobState::pending;
        c.timers.emplace(Clock::now() + job->options.period, Event{job, false, 0});
        c.timer_cv.notify_one();
        continue;
      }
      c.finish(job, JobState::done);  // cancelled or shut down after this run
      continue;
    }
    c.finish(job, cancelled   ? JobState::cancelled
                  : threw     ? JobState::failed
                  : timed_out ? JobState::timed_out
                              : JobState::done);
  }
}

Scheduler::Scheduler(SchedulerOptions options) : impl_(std::make_unique<Impl>()) {
  const unsigned n = options.threads == 0 ? 1 : options.threads;
  impl_->threads.emplace_back([this] { impl_->timer_loop(); });
  for (unsigned i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->worker_loop(); });
}

Scheduler::~Scheduler() {
  shutdown(Shutdown::cancel);
}

JobHandle Scheduler::submit(std::function<void(std::stop_token)> fn, JobOptions options) {
  auto job = std::make_shared<Job>();
  job->fn = std::move(fn);
  job->options = options;
  job->core = impl_->core;
  Core& c = *impl_->core;
  std::lock_guard lock(c.mu);
  ++c.stats.submitted;
  if (c.stopping) {
    job->state = JobState::cancelled;
    job->finished = true;
    job->fn = nullptr;
    ++c.stats.cancelled;
    return JobHandle(job);
  }
  job->id = c.next_id++;
  c.live.emplace(job->id, job);
  if (options.delay.count() <= 0) {
    c.ready.push_back(job);
    c.work_cv.notify_one();
  } else {
    c.timers.emplace(Clock::now() + options.delay, Event{job, false, 0});
    c.timer_cv.notify_one();
  }
  return JobHandle(job);
}

std::size_t Scheduler::active_jobs() const {
  std::lock_guard lock(impl_->core->mu);
  return impl_->core->live.size();
}

std::size_t Scheduler::active_handles() const {
  return active_jobs();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(impl_->core->mu);
  return impl_->core->stats;
}

void Scheduler::shutdown(Shutdown mode) {
  std::lock_guard once(impl_->shutdown_mu);
  if (impl_->joined) return;
  Core& c = *impl_->core;
  {
    std::unique_lock lock(c.mu);
    c.stopping = true;
    c.draining = mode == Shutdown::drain;
    std::vector<std::shared_ptr<Job>> jobs;
    for (auto& [id, job] : c.live) jobs.push_back(job);
    std::vector<std::stop_source> to_stop;
    for (auto& job : jobs) {
      const bool periodic = job->options.period.count() > 0;
      if (mode == Shutdown::drain && !periodic) continue;  // runs at its time
      if (mode == Shutdown::cancel) {
        std::lock_guard jl(job->mu);
        job->cancel_requested = true;
        to_stop.push_back(job->run_stop);
      }
      // Not running: ends now (a running one ends when it returns).
      if (job->state != JobState::running) c.finish(job, ended_by_cancel(*job));
    }
    lock.unlock();  // stop callbacks run with no lock held
    for (auto& st : to_stop) st.request_stop();
    lock.lock();
    c.idle_cv.wait(lock, [&] { return c.live.empty(); });
    c.exit = true;
  }
  c.timer_cv.notify_all();
  c.work_cv.notify_all();
  for (auto& t : impl_->threads) t.join();
  impl_->joined = true;
}

}  // namespace swarmkeeper::sched
