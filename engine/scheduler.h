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
// `check` is polled between steps, possibly from several threads at once; a
// non-OK status (a deadline, a cancelled call) drops the job's queued and
// running chunks and completes it with that status. `done` runs exactly once,
// on a worker or sample thread (or inline when Submit fails it never runs and
// Submit returns the error).
//
// Media sample tokens need no model (chunk_coder.h): once a chunk's remaining
// tokens are all samples, a worker hands it to a sample thread, so that a
// large image's tail (seconds of coding) never stalls the model batch that
// other callers' chunks share. Sample threads code a tail in slices and poll
// `check` between them. A media chunk holds its contexts' memory (about 25
// bytes a token) from admission to completion, so at most max_media_chunks of
// them are admitted at once; other work in the queue passes them meanwhile.
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
  int sample_workers = 0;      // threads coding media sample tails (0: workers)
  int max_media_chunks = 0;    // media chunks in progress at once (0: 2 x sample threads)
  size_t sample_slice_tokens = 1 << 15;  // tail tokens coded between two polls of `check`
  // The chunks in progress hold at most this much (ChunkCoderMemory: up to
  // 73 MiB for a 2 MiB byte chunk); the next chunk in line waits, and nothing
  // passes it. A chunk larger than the budget runs alone. 0: no bound.
  uint64_t memory_budget_bytes = 0;
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
  // Chunks in progress: in a model batch or coding a sample tail.
  size_t running_chunks() const { return running_.load(); }
  // Media chunks admitted and not yet complete (at most max_media_chunks). Takes
  // no lock: `check` may call it.
  size_t media_chunks() const;
  const IntModel& model() const { return model_; }
  // Bytes the chunks in progress hold (ChunkCoderMemory). Takes no lock.
  uint64_t memory_in_use() const { return memory_in_use_.load(); }

 private:
  struct Job;
  struct Running;
  struct MediaSlot;
  struct MemoryHold;
  absl::Status Enqueue(std::shared_ptr<Job> job);
  // Whether the job's chunks are media and every media place is taken (they
  // wait; other work passes them). Requires mu_.
  bool WaitsForMediaPlaceLocked(const Job& job) const;
  // Whether `bytes` more fit the memory budget now. Requires mu_.
  bool FitsLocked(uint64_t bytes) const;
  // Whether a worker with an empty batch has something to admit. Requires mu_.
  bool AdmittableLocked() const;
  // Hands the chunk's result to its job (DATA_LOSS fails the job).
  static void Complete(Running& r);
  void ReleaseMediaSlot();
  void ReleaseMemory(uint64_t bytes);
  // Removes queued chunks of finished jobs and of jobs whose check fails; returns
  // the latter (to be finished outside the lock). Requires mu_.
  std::vector<std::pair<std::shared_ptr<Job>, absl::Status>> PurgeLocked();
  void WorkerLoop();
  void SampleLoop();
  // Moves this worker's part of running_ from *reported to `now`.
  void ReportRunning(size_t now, size_t* reported);

  const IntModel& model_;
  SchedulerOptions opt_;
  SchedulerObserver* const observer_;  // null: nobody watches
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<Job>, size_t>> queue_;  // job, chunk index
  std::condition_variable tail_cv_;
  std::deque<std::unique_ptr<Running>> tails_;  // waiting for a sample thread
  std::atomic<size_t> media_running_{0};        // admitted media chunks; written under mu_
  size_t max_media_ = 0;
  std::atomic<uint64_t> memory_in_use_{0};  // ChunkCoderMemory of admitted chunks; written under mu_
  bool stopping_ = false;
  std::atomic<size_t> running_{0};  // chunks in all workers' batches
  // Runs one WorkerLoop per worker, each for the scheduler's lifetime.
  std::unique_ptr<boost::asio::thread_pool> workers_;
  // Runs one SampleLoop per sample thread.
  std::unique_ptr<boost::asio::thread_pool> samplers_;
};

}  // namespace lmc

#endif  // LMC_ENGINE_SCHEDULER_H_
