// BlockingPool: the threads that run HttpServer's synchronous handlers, which may block (a store
// write, an approval long-poll), so that no event loop ever waits on one. Threads are started on
// demand, one whenever a task finds none idle, up to a fixed maximum; past it, tasks queue.
// Thread-safe. Internal to the server module.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace writ::server::internal {

class BlockingPool {
 public:
  explicit BlockingPool(size_t max_threads) : max_threads_(max_threads) {}
  ~BlockingPool() { Stop(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues `task`; it runs on a pool thread. Never blocks. After Stop, the task is dropped.
  void Submit(std::function<void()> task);

  // Waits for the tasks already running; drops those not started; joins the threads. Idempotent.
  void Stop();

 private:
  void Work();

  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  size_t idle_ = 0;                          // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;         // guarded by mu_ (joined by Stop)
};

}  // namespace writ::server::internal
