// SPDX-License-Identifier: Apache-2.0
// scheduler_test.cpp — jobs that finish, throw, time out and are cancelled leave no
// handle behind; delays, periods and shutdown modes do what the header says.
#include "swarmkeeper/sched/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace swarmkeeper::sched {
namespace {

using namespace std::chrono_literals;

// Waits (bounded) until pred() holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(Scheduler, ThousandsOfJobsThatFinishThrowTimeOutOrAreCancelledLeaveNoHandle) {
  Scheduler s({.threads = 2});
  std::atomic<int> ran{0};
  std::vector<JobHandle> handles;
  for (int i = 0; i < 10000; ++i) {
    if (i % 10 == 0) {
      handles.push_back(s.submit([](std::stop_token) { throw std::runtime_error("boom"); }));
    } else if (i % 10 == 1) {
      handles.push_back(s.submit([&](std::stop_token) { ++ran; }, {.delay = 50ms}));
      handles.back().cancel();  // before its time: never runs
    } else if (i % 100 == 2) {
      handles.push_back(s.submit(
          [](std::stop_token st) {
            while (!st.stop_requested()) std::this_thread::sleep_for(1ms);
          },
          {.timeout = 5ms}));
    } else {
      handles.push_back(s.submit([&](std::stop_token) { ++ran; }));
    }
  }
  for (auto& h : handles) h.wait();
  EXPECT_EQ(s.active_handles(), 0u);
  EXPECT_EQ(s.active_jobs(), 0u);
  const auto st = s.stats();
  EXPECT_EQ(st.failed, 1000u);
  EXPECT_EQ(st.cancelled, 1000u);
  EXPECT_EQ(st.timed_out, 100u);
  EXPECT_EQ(st.done, 7900u);
  EXPECT_EQ(ran.load(), 7900);
  EXPECT_EQ(handles[0].state(), JobState::failed);
  EXPECT_EQ(handles[1].state(), JobState::cancelled);
  EXPECT_EQ(handles[2].state(), JobState::timed_out);
  EXPECT_EQ(handles[3].state(), JobState::done);
}

TEST(Scheduler, ACancelledDelayedJobIsReleasedAtOnceNotAtItsTime) {
  Scheduler s;
  auto h = s.submit([](std::stop_token) {}, {.delay = 1h});
  EXPECT_EQ(s.active_handles(), 1u);
  h.cancel();
  EXPECT_TRUE(eventually([&] { return s.active_handles() == 0; }, 2s));
  EXPECT_EQ(h.state(), JobState::cancelled);
}

TEST(Scheduler, DelayedAndPeriodicJobsRunOnTimeAndStopWhenCancelled) {
  Scheduler s;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> ran_after_ms{-1};
  auto once = s.submit(
      [&](std::stop_token) {
        ran_after_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
                .count();
      },
      {.delay = 30ms});
  once.wait();
  EXPECT_GE(ran_after_ms.load(), 30);
  std::atomic<int> runs{0};
  auto tick = s.submit(
      [&](std::stop_token) {
        if (++runs == 2) throw std::runtime_error("a periodic job goes on after a throw");
      },
      {.period = 5ms});
  EXPECT_TRUE(eventually([&] { return runs >= 5; }));
  tick.cancel();
  tick.wait();
  const int at_cancel = runs;
  std::this_thread::sleep_for(30ms);
  EXPECT_LE(runs.load(), at_cancel + 1) << "no run after cancel (one may have been starting)";
  EXPECT_EQ(s.active_handles(), 0u);
}

TEST(Scheduler, StopCallbacksAndCancelsFromInsideJobsNeverDeadlock) {
  Scheduler s({.threads = 1});
  // A job whose stop callback (run at its timeout) cancels another job.
  auto child = s.submit([](std::stop_token) {}, {.delay = 1h});
  auto parent = s.submit(
      [&](std::stop_token st) {
        std::stop_callback cb(st, [&] { child.cancel(); });
        while (!st.stop_requested()) std::this_thread::sleep_for(1ms);
      },
      {.timeout = 20ms});
  parent.wait();
  child.wait();
  EXPECT_EQ(parent.state(), JobState::timed_out);
  EXPECT_EQ(child.state(), JobState::cancelled);
  // A job that cancels the one queued behind it just before it returns.
  std::promise<JobHandle> b_handle;
  auto b_ready = b_handle.get_future();
  auto a = s.submit([&](std::stop_token) { b_ready.get().cancel(); });  // b is queued behind a (one thread)
  auto b = s.submit([](std::stop_token) {});
  b_handle.set_value(b);
  a.wait();
  b.wait();
  EXPECT_EQ(s.active_handles(), 0u);
}

TEST(Scheduler, ACancelledPeriodicJobThatRanEndsDoneAndCountsItsFailedRuns) {
  Scheduler s;
  std::atomic<int> runs{0};
  auto p = s.submit(
      [&](std::stop_token) {
        ++runs;
        throw std::runtime_error("every run fails");
      },
      {.period = 1ms});
  ASSERT_TRUE(eventually([&] { return runs >= 3; }));
  p.cancel();
  p.wait();
  EXPECT_EQ(p.state(), JobState::done);
  const auto st = s.stats();
  EXPECT_EQ(st.run_failures, static_cast<std::uint64_t>(runs.load()));
  EXPECT_EQ(st.failed + st.cancelled + st.timed_out, 0u) << "a job ends once, counted once: done";
  EXPECT_EQ(st.done, 1u);
}

TEST(Scheduler, ShutdownCancelStopsRunningJobsAndDropsPendingOnes) {
  Scheduler s({.threads = 1});
  std::atomic<bool> started{false};
  auto running = s.submit([&](std::stop_token st) {
    started = true;
    while (!st.stop_requested()) std::this_thread::sleep_for(1ms);
  });
  auto pending = s.submit([](std::stop_token) {}, {.delay = 1h});
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  s.shutdown(Scheduler::Shutdown::cancel);
  EXPECT_EQ(running.state(), JobState::cancelled);
  EXPECT_EQ(pending.state(), JobState::cancelled);
  EXPECT_EQ(s.active_handles(), 0u);
  auto late = s.submit([](std::stop_token) {});
  EXPECT_EQ(late.state(), JobState::cancelled) << "no job starts after shutdown";
}

TEST(Scheduler, ShutdownDrainRunsSubmittedOneShotsAndStopsPeriodicOnes) {
  std::atomic<int> ran{0};
  JobHandle delayed, periodic;
  {
    Scheduler s({.threads = 2});
    for (int i = 0; i < 100; ++i) s.submit([&](std::stop_token) { ++ran; });
    delayed = s.submit([&](std::stop_token) { ++ran; }, {.delay = 20ms});
    periodic = s.submit([](std::stop_token) {}, {.period = 1ms});
    s.shutdown(Scheduler::Shutdown::drain);
    EXPECT_EQ(ran.load(), 101);
    EXPECT_EQ(s.active_handles(), 0u);
  }
  EXPECT_EQ(delayed.state(), JobState::done) << "a handle outlives its scheduler";
  EXPECT_TRUE(periodic.finished());
}

}  // namespace
}  // namespace swarmkeeper::sched
