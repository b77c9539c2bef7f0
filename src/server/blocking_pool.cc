#include "server/blocking_pool.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace ferry::server {

BlockingPool::BlockingPool(int max_threads) : max_threads_(std::max(max_threads, 1)) {}

BlockingPool::~BlockingPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void BlockingPool::Post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  tasks_.push_back(std::move(task));
  // A new thread when the idle ones (not yet woken) cannot take every queued task.
  if (tasks_.size() > static_cast<size_t>(idle_) &&
      static_cast<int>(threads_.size()) < max_threads_) {
    threads_.emplace_back([this] { Run(); });
    pthread_setname_np(threads_.back().native_handle(), "ferry-blocking");
  }
  wake_.notify_one();
}

void BlockingPool::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (tasks_.empty()) {
      if (stopping_) return;
      ++idle_;
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      --idle_;
      continue;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // its captures are released here, outside the lock
    lock.lock();
  }
}

}  // namespace ferry::server
