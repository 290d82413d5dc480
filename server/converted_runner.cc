#include "server/converted_runner.h"

#include "absl/strings/str_cat.h"

namespace lmc {

ConvertedRunner::ConvertedRunner(int threads, size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Work(); });
}

ConvertedRunner::~ConvertedRunner() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    queue_.clear();  // never started; the server is going away (after its drain)
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

absl::Status ConvertedRunner::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.size() >= max_queue_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the converted model's queue is full (", max_queue_, " calls waiting)"));
    }
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return absl::OkStatus();
}

size_t ConvertedRunner::queued() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

int ConvertedRunner::running() const {
  std::lock_guard<std::mutex> l(mu_);
  return running_;
}

void ConvertedRunner::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    job();
    std::lock_guard<std::mutex> l(mu_);
    --running_;
  }
}

}  // namespace lmc
