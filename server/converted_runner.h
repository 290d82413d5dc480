// Runs the calls of a converted Hugging Face model (hf/token_codec.h) on
// threads of its own, from a bounded queue. lmc's byte models batch chunks
// across calls in their scheduler; a converted model batches the chunks of one
// call (lockstep), and calls queue here. Reactions only submit.
//
//   ConvertedRunner runner(2, 64);
//   absl::Status s = runner.Submit([=] { ...CompressTokens...; call->Done(...); });
#ifndef LMC_SERVER_CONVERTED_RUNNER_H_
#define LMC_SERVER_CONVERTED_RUNNER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace lmc {

class ConvertedRunner {
 public:
  ConvertedRunner(int threads, size_t max_queue);
  // Drops what has not started (the server drains before it gets here), lets
  // the running jobs finish, joins the threads.
  ~ConvertedRunner();

  // RESOURCE_EXHAUSTED, at once, when max_queue jobs are already waiting.
  absl::Status Submit(std::function<void()> job);
  size_t queued() const;
  int running() const;

 private:
  void Work();

  const size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  int running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lmc

#endif  // LMC_SERVER_CONVERTED_RUNNER_H_
