#include "server/internal/blocking_pool.h"

#include <exception>

#include "common/log.h"

namespace writ::server::internal {

void BlockingPool::Submit(std::function<void()> task) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  tasks_.push_back(std::move(task));
  if (idle_ == 0 && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { Work(); });
  } else {
    ready_.notify_one();
  }
}

void BlockingPool::Work() {
  std::unique_lock lock(mu_);
  while (true) {
    ++idle_;
    ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    --idle_;
    if (stopping_) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (const std::exception& error) {  // the Router catches handler exceptions; this is a last guard
      log::Error("unexpected exception in a blocking handler", {{"exception", error.what()}});
    }
    task = nullptr;  // release what it holds before waiting again
    lock.lock();
  }
}

void BlockingPool::Stop() {
  std::vector<std::thread> threads;
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
    dropped.swap(tasks_);
  }
  ready_.notify_all();
  for (std::thread& thread : threads) thread.join();
}

}  // namespace writ::server::internal
