// SPDX-License-Identifier: Apache-2.0
// annotated_mutex.hpp — a std::mutex and its scoped lock, annotated for Clang's
// thread-safety analysis (-Wthread-safety), and the attributes that say which mutex
// guards a field or must be held to call a function. Under GCC the attributes are empty
// and Mutex is a std::mutex. The test command checks the annotated files with Clang
// (scripts/test.sh, stage 0).
//
//   sched::Mutex mu;
//   int count SK_GUARDED_BY(mu) = 0;
//   void bump_locked() SK_REQUIRES(mu) { ++count; }
//   { sched::Lock lock(mu); bump_locked(); }
#pragma once

#include <mutex>

#if defined(__clang__)
#define SK_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SK_THREAD_ANNOTATION(x)
#endif

#define SK_CAPABILITY(x) SK_THREAD_ANNOTATION(capability(x))
#define SK_SCOPED_CAPABILITY SK_THREAD_ANNOTATION(scoped_lockable)
#define SK_GUARDED_BY(x) SK_THREAD_ANNOTATION(guarded_by(x))
#define SK_PT_GUARDED_BY(x) SK_THREAD_ANNOTATION(pt_guarded_by(x))
#define SK_REQUIRES(...) SK_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define SK_ACQUIRE(...) SK_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define SK_RELEASE(...) SK_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define SK_EXCLUDES(...) SK_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define SK_NO_THREAD_SAFETY_ANALYSIS SK_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace swarmkeeper::sched {

class SK_CAPABILITY("mutex") Mutex {
 public:
  void lock() SK_ACQUIRE() { m_.lock(); }
  void unlock() SK_RELEASE() { m_.unlock(); }

 private:
  std::mutex m_;
};

/// std::lock_guard for Mutex, which the analysis understands.
class SK_SCOPED_CAPABILITY Lock {
 public:
  explicit Lock(Mutex& m) SK_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~Lock() SK_RELEASE() { m_.unlock(); }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  Mutex& m_;
};

}  // namespace swarmkeeper::sched
