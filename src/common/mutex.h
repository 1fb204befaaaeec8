// A mutex that clang's -Wthread-safety can reason about (STYLE.md habit 10): say which lock
// guards what with WRIT_GUARDED_BY, and which functions need it held with WRIT_REQUIRES.
#pragma once
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define WRIT_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define WRIT_THREAD_ANNOTATION_(x)
#endif

#define WRIT_CAPABILITY(x) WRIT_THREAD_ANNOTATION_(capability(x))
#define WRIT_SCOPED_CAPABILITY WRIT_THREAD_ANNOTATION_(scoped_lockable)
#define WRIT_GUARDED_BY(x) WRIT_THREAD_ANNOTATION_(guarded_by(x))
#define WRIT_PT_GUARDED_BY(x) WRIT_THREAD_ANNOTATION_(pt_guarded_by(x))
#define WRIT_REQUIRES(...) WRIT_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define WRIT_ACQUIRE(...) WRIT_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define WRIT_RELEASE(...) WRIT_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define WRIT_RETURN_CAPABILITY(x) WRIT_THREAD_ANNOTATION_(lock_returned(x))
#define WRIT_NO_THREAD_SAFETY_ANALYSIS WRIT_THREAD_ANNOTATION_(no_thread_safety_analysis)
#define WRIT_EXCLUDES(...) WRIT_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))

namespace writ {

class WRIT_CAPABILITY("mutex") Mutex {
 public:
  void Lock() WRIT_ACQUIRE() { mu_.lock(); }
  void Unlock() WRIT_RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }  // for std::condition_variable

 private:
  std::mutex mu_;
};

// Holds `mu` for the scope.
class WRIT_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) WRIT_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() WRIT_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace writ
