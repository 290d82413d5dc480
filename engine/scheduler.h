// The batcher behind the server: continuous batching of compression and
// decompression work from many callers onto one model. Each submitted job is cut
// into its chunks; worker threads keep a running batch of chunks, and at every
// model step finished chunks leave and queued ones join (up to a stream count
// and a token budget), whichever job they belong to. A chunk's bytes do not
// depend on its companions (chunk_coder.h), so results equal local mode's.
//
//   Scheduler s(model, {});
//   s.SubmitEncode(chunks, check, [](absl::StatusOr<std::vector<std::string>> r) {...});
//
// `check` is polled between steps; a non-OK status (a deadline, a cancelled
// call) drops the job's queued and running chunks and completes it with that
// status. `done` runs exactly once, on a worker thread (or inline when Submit
// fails it never runs and Submit returns the error).
#ifndef LMC_ENGINE_SCHEDULER_H_
#define LMC_ENGINE_SCHEDULER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/sample_context.h"
#include "absl/status/statusor.h"
#include "model/int_model.h"

namespace boost::asio {
class thread_pool;
}

namespace lmc {

struct SchedulerOptions {
  int workers = 1;                 // threads running the model, each with its batch
  int max_batch_streams = 32;      // chunks in one model step
  int token_budget = 4096;         // tokens in one model step
  int block_tokens = 128;          // compression: tokens per chunk per step
  size_t max_queued_chunks = 1024;  // beyond this, Submit is RESOURCE_EXHAUSTED
};

// What a scheduler reports as it works, for metrics. Called on worker threads,
// concurrently from several workers: implementations must be thread-safe.
class SchedulerObserver {
 public:
  virtual ~SchedulerObserver() = default;
  // A chunk left the queue for a running batch after `queue_seconds`.
  virtual void Admitted(double queue_seconds) = 0;
  // One model step: chunks in the batch, tokens evaluated, seconds in the model.
  virtual void Stepped(int streams, int tokens, double forward_seconds) = 0;
};

class Scheduler {
 public:
  using Check = std::function<absl::Status()>;
  using Done = std::function<void(absl::StatusOr<std::vector<std::string>>)>;

  // `observer` may be null; it must outlive the scheduler.
  Scheduler(const IntModel& model, const SchedulerOptions& options,
            SchedulerObserver* observer = nullptr);
  // Completes queued and running jobs with UNAVAILABLE, then joins the workers.
  ~Scheduler();

  // The views must stay valid until `done` has run. `layout`: the chunks are
  // consecutive parts of a media token stream (CompressPlan/DecompressPlan).
  absl::Status SubmitEncode(std::vector<std::string_view> chunks, Check check, Done done,
                            std::shared_ptr<const media::TokenLayout> layout = nullptr);
  absl::Status SubmitDecode(std::vector<std::span<const uint8_t>> payloads,
                            std::vector<uint32_t> tokens, Check check, Done done,
                            std::shared_ptr<const media::TokenLayout> layout = nullptr);

  size_t queued_chunks() const;
  size_t running_chunks() const { return running_.load(); }
  const IntModel& model() const { return model_; }

 private:
  struct Job;
  struct Running;
  absl::Status Enqueue(std::shared_ptr<Job> job);
  // Removes queued chunks of finished jobs and of jobs whose check fails; returns
  // the latter (to be finished outside the lock). Requires mu_.
  std::vector<std::pair<std::shared_ptr<Job>, absl::Status>> PurgeLocked();
  void WorkerLoop();
  // Moves this worker's part of running_ from *reported to `now`.
  void ReportRunning(size_t now, size_t* reported);

  const IntModel& model_;
  SchedulerOptions opt_;
  SchedulerObserver* const observer_;  // null: nobody watches
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<Job>, size_t>> queue_;  // job, chunk index
  bool stopping_ = false;
  std::atomic<size_t> running_{0};  // chunks in all workers' batches
  // Runs one WorkerLoop per worker, each for the scheduler's lifetime.
  std::unique_ptr<boost::asio::thread_pool> workers_;
};

}  // namespace lmc

#endif  // LMC_ENGINE_SCHEDULER_H_
