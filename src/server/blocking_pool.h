#pragma once

// BlockingPool: threads for work that may block for long -- a streaming route's sink
// writing to disk, or finishing with a dataset add that takes seconds -- so that an IO
// thread hands such work off and goes on serving its other connections instead of
// stalling them. Threads start on demand, up to max_threads, and then stay; tasks run
// in the order they were posted, each on whichever thread is free.
//
// Thread-safety: Post may be called from any thread. The destructor runs the tasks
// still queued, then joins the threads; it must not be called from a task.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ferry::server {

class BlockingPool {
 public:
  explicit BlockingPool(int max_threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues task. A task must not throw (callers catch what their work throws).
  void Post(std::function<void()> task);

 private:
  void Run();

  const int max_threads_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  int idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ferry::server
