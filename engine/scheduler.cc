#include "engine/scheduler.h"

#include <algorithm>
#include <utility>

#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "engine/chunk_coder.h"
#include "model/evaluator.h"

namespace lmc {

struct Scheduler::Job {
  bool decode = false;
  std::vector<std::string_view> chunks;           // encode
  std::vector<std::span<const uint8_t>> payloads;  // decode
  std::vector<uint32_t> tokens;                    // decode
  std::shared_ptr<const media::TokenLayout> layout;  // media streams only
  std::vector<uint64_t> first;                     // first token of each chunk
  Check check;
  Done done;
  std::vector<std::string> results;
  std::atomic<size_t> remaining{0};
  std::atomic<bool> finished{false};
  std::chrono::steady_clock::time_point submitted;  // for the queue-time metric

  size_t size() const { return decode ? payloads.size() : chunks.size(); }
  uint64_t Memory(size_t i) const {
    return ChunkCoderMemory(decode ? tokens[i] : chunks[i].size(), layout != nullptr);
  }
  // Completes the job once; later calls do nothing.
  void Finish(absl::StatusOr<std::vector<std::string>> r) {
    if (finished.exchange(true)) return;
    done(std::move(r));
  }
};

// Holds one of the max_media_chunks places while a media chunk is in progress.
struct Scheduler::MediaSlot {
  Scheduler* s;
  ~MediaSlot() { s->ReleaseMediaSlot(); }
};

// Holds a chunk's ChunkCoderMemory against the budget while it is in progress.
struct Scheduler::MemoryHold {
  Scheduler* s;
  uint64_t bytes;
  ~MemoryHold() { s->ReleaseMemory(bytes); }
};

struct Scheduler::Running {
  std::shared_ptr<Job> job;
  size_t index;
  std::unique_ptr<ChunkEncoder> enc;
  std::unique_ptr<ChunkDecoder> dec;
  std::unique_ptr<MediaSlot> media;  // media chunks only
  std::unique_ptr<MemoryHold> memory;
  bool complete = false;  // coded and handed to the job
  bool done() const { return enc ? enc->done() : dec->done(); }
  bool needs_model() const { return enc ? enc->needs_model() : dec->needs_model(); }
  void CodeWithoutModel(size_t max_tokens) {
    enc ? enc->CodeWithoutModel(max_tokens) : dec->CodeWithoutModel(max_tokens);
  }
};

Scheduler::Scheduler(const IntModel& model, const SchedulerOptions& options,
                     SchedulerObserver* observer)
    : model_(model), opt_(options), observer_(observer) {
  const int n = std::max(1, opt_.workers);
  const int samplers = opt_.sample_workers > 0 ? opt_.sample_workers : n;
  max_media_ = static_cast<size_t>(opt_.max_media_chunks > 0 ? opt_.max_media_chunks : 2 * samplers);
  opt_.sample_slice_tokens = std::max<size_t>(1, opt_.sample_slice_tokens);
  workers_ = std::make_unique<boost::asio::thread_pool>(n);
  for (int i = 0; i < n; ++i) boost::asio::post(*workers_, [this] { WorkerLoop(); });
  samplers_ = std::make_unique<boost::asio::thread_pool>(samplers);
  for (int i = 0; i < samplers; ++i) boost::asio::post(*samplers_, [this] { SampleLoop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  tail_cv_.notify_all();
  workers_->join();
  samplers_->join();
  const absl::Status down = absl::UnavailableError("server is shutting down");
  for (auto& [job, index] : queue_) job->Finish(down);
  for (auto& r : tails_) r->job->Finish(down);
  tails_.clear();  // releases their media slots (mu_ is free)
}

size_t Scheduler::queued_chunks() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

size_t Scheduler::media_chunks() const { return media_running_.load(); }

void Scheduler::ReleaseMediaSlot() {
  {
    std::lock_guard<std::mutex> l(mu_);
    --media_running_;
  }
  cv_.notify_all();  // a worker may now admit a waiting media chunk
}

bool Scheduler::WaitsForMediaPlaceLocked(const Job& job) const {
  return job.layout != nullptr && media_running_ >= max_media_;
}

bool Scheduler::FitsLocked(uint64_t bytes) const {
  const uint64_t used = memory_in_use_.load();
  return opt_.memory_budget_bytes == 0 || used == 0 || used + bytes <= opt_.memory_budget_bytes;
}

// As the admission loop in WorkerLoop goes: finished chunks are dropped, media
// chunks without a place are passed, and the first other chunk is admitted if
// it fits the memory budget, or else stops the loop.
bool Scheduler::AdmittableLocked() const {
  for (const auto& [job, index] : queue_) {
    if (job->finished) return true;
    if (WaitsForMediaPlaceLocked(*job)) continue;
    return FitsLocked(job->Memory(index));
  }
  return false;
}

void Scheduler::ReleaseMemory(uint64_t bytes) {
  {
    std::lock_guard<std::mutex> l(mu_);
    memory_in_use_ -= bytes;
  }
  cv_.notify_all();  // a worker may now admit the chunk that waited for memory
}

void Scheduler::Complete(Running& r) {
  r.complete = true;
  Job& job = *r.job;
  if (r.enc) {
    job.results[r.index] = r.enc->Finish();
  } else {
    absl::StatusOr<std::string> out = r.dec->Finish(r.index);
    if (!out.ok()) {
      job.Finish(out.status());
      return;
    }
    job.results[r.index] = *std::move(out);
  }
  if (--job.remaining == 0) job.Finish(std::move(job.results));
}

void Scheduler::SampleLoop() {
  while (true) {
    std::unique_ptr<Running> r;
    {
      std::unique_lock<std::mutex> l(mu_);
      tail_cv_.wait(l, [&] { return stopping_ || !tails_.empty(); });
      if (stopping_) return;
      r = std::move(tails_.front());
      tails_.pop_front();
    }
    while (!r->done() && !r->job->finished) {
      if (absl::Status s = r->job->check ? r->job->check() : absl::OkStatus(); !s.ok()) {
        r->job->Finish(s);
        break;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stopping_) break;
      }
      r->CodeWithoutModel(opt_.sample_slice_tokens);
    }
    if (r->done() && !r->job->finished) {
      Complete(*r);
    } else if (!r->job->finished) {
      r->job->Finish(absl::UnavailableError("server is shutting down"));
    }
    r.reset();  // frees the chunk's contexts and its media place
    running_.fetch_sub(1);
  }
}

absl::Status Scheduler::SubmitEncode(std::vector<std::string_view> chunks, Check check,
                                     Done done,
                                     std::shared_ptr<const media::TokenLayout> layout) {
  auto job = std::make_shared<Job>();
  job->chunks = std::move(chunks);
  job->layout = std::move(layout);
  job->first.assign(job->chunks.size(), 0);
  for (size_t i = 1; i < job->chunks.size(); ++i) {
    job->first[i] = job->first[i - 1] + job->chunks[i - 1].size();
  }
  job->check = std::move(check);
  job->done = std::move(done);
  return Enqueue(std::move(job));
}

absl::Status Scheduler::SubmitDecode(std::vector<std::span<const uint8_t>> payloads,
                                     std::vector<uint32_t> tokens, Check check, Done done,
                                     std::shared_ptr<const media::TokenLayout> layout) {
  if (payloads.size() != tokens.size()) {
    return absl::InvalidArgumentError("payloads and token counts differ");
  }
  auto job = std::make_shared<Job>();
  job->layout = std::move(layout);
  job->first.assign(tokens.size(), 0);
  for (size_t i = 1; i < tokens.size(); ++i) job->first[i] = job->first[i - 1] + tokens[i - 1];
  job->decode = true;
  job->payloads = std::move(payloads);
  job->tokens = std::move(tokens);
  job->check = std::move(check);
  job->done = std::move(done);
  return Enqueue(std::move(job));
}

absl::Status Scheduler::Enqueue(std::shared_ptr<Job> job) {
  const size_t n = job->size();
  job->results.resize(n);
  job->remaining = n;
  job->submitted = std::chrono::steady_clock::now();
  if (n == 0) {
    job->Finish(std::vector<std::string>{});
    return absl::OkStatus();
  }
  std::vector<std::pair<std::shared_ptr<Job>, absl::Status>> dropped;
  absl::Status result = absl::OkStatus();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return absl::UnavailableError("server is shutting down");
    // Chunks of jobs that were cancelled or timed out while queued give their
    // places back before anyone is refused.
    if (queue_.size() + n > opt_.max_queued_chunks) dropped = PurgeLocked();
    if (queue_.size() + n > opt_.max_queued_chunks) {
      result = absl::ResourceExhaustedError("the server's queue is full; retry later");
    } else {
      for (size_t i = 0; i < n; ++i) queue_.emplace_back(job, i);
    }
  }
  for (auto& [j, status] : dropped) j->Finish(status);
  if (result.ok()) cv_.notify_all();
  return result;
}

std::vector<std::pair<std::shared_ptr<Scheduler::Job>, absl::Status>> Scheduler::PurgeLocked() {
  std::vector<std::pair<std::shared_ptr<Job>, absl::Status>> failed;
  std::erase_if(queue_, [&](const std::pair<std::shared_ptr<Job>, size_t>& e) {
    const std::shared_ptr<Job>& job = e.first;
    if (job->finished) return true;
    if (!job->check) return false;
    absl::Status s = job->check();
    if (s.ok()) return false;
    if (failed.empty() || failed.back().first != job) failed.emplace_back(job, s);
    return true;
  });
  return failed;
}

void Scheduler::ReportRunning(size_t now, size_t* reported) {
  running_.fetch_add(now);
  running_.fetch_sub(*reported);
  *reported = now;
}

void Scheduler::WorkerLoop() {
  size_t reported = 0;  // this worker's part of running_
  BatchEvaluator ev(model_);
  std::vector<Running> running;
  std::vector<StreamInput> batch;
  std::vector<size_t> stepped;  // running[stepped[b]] is batch[b]
  std::vector<uint16_t> freqs;
  while (true) {
    // Admit queued chunks into the running batch, up to the limits.
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !running.empty() || AdmittableLocked(); });
      if (stopping_) break;
      const auto now = std::chrono::steady_clock::now();
      int tokens = 0;
      for (const Running& r : running) {
        tokens += r.enc ? std::min<int>(opt_.block_tokens, r.enc->model_remaining()) : 1;
      }
      // A worker takes its fair share of the work in sight, so that a burst of
      // chunks is spread over every worker rather than batched on the first
      // one awake (measured: 16 simultaneous 1 MB decompressions ran on one of
      // two workers at 0.015 MB/s).
      const size_t workers = static_cast<size_t>(std::max(1, opt_.workers));
      const size_t share = (running_.load() + queue_.size() + workers - 1) / workers;
      const size_t limit = std::min(static_cast<size_t>(opt_.max_batch_streams), share);
      // Media chunks beyond max_media_chunks wait; what is behind them passes.
      for (auto it = queue_.begin();
           it != queue_.end() && running.size() < limit && tokens < opt_.token_budget;) {
        std::shared_ptr<Job> job = it->first;
        const size_t i = it->second;
        if (job->finished) {
          it = queue_.erase(it);
          continue;
        }
        if (WaitsForMediaPlaceLocked(*job)) {
          ++it;
          continue;
        }
        const uint64_t memory = job->Memory(i);
        if (!FitsLocked(memory)) break;  // it waits, and what is behind it
        it = queue_.erase(it);
        if (observer_) {
          observer_->Admitted(std::chrono::duration<double>(now - job->submitted).count());
        }
        Running r{job, i, nullptr, nullptr, nullptr, nullptr};
        if (job->layout != nullptr) {
          ++media_running_;
          r.media.reset(new MediaSlot{this});  // not a temporary: its destructor releases
        }
        memory_in_use_ += memory;
        r.memory.reset(new MemoryHold{this, memory});
        if (job->decode) {
          r.dec = std::make_unique<ChunkDecoder>(model_, job->payloads[i], job->tokens[i],
                                                 job->layout.get(), job->first[i]);
          tokens += 1;
        } else {
          r.enc = std::make_unique<ChunkEncoder>(model_, job->chunks[i], job->layout.get(),
                                                 job->first[i]);
          tokens += std::min<int>(opt_.block_tokens, r.enc->model_remaining());
        }
        running.push_back(std::move(r));
      }
      ReportRunning(running.size(), &reported);  // before others compute their share
    }
    // Drop the chunks of jobs that were cancelled, timed out or failed, running
    // and queued.
    bool purge = false;
    for (Running& r : running) {
      if (r.job->finished) continue;
      if (absl::Status s = r.job->check ? r.job->check() : absl::OkStatus(); !s.ok()) {
        r.job->Finish(s);
        purge = true;
      }
    }
    if (purge) {
      std::vector<std::pair<std::shared_ptr<Job>, absl::Status>> dropped;
      {
        std::lock_guard<std::mutex> l(mu_);
        dropped = PurgeLocked();
      }
      for (auto& [j, status] : dropped) j->Finish(status);
    }
    std::erase_if(running, [](const Running& r) { return r.job->finished.load(); });
    ReportRunning(running.size(), &reported);
    if (running.empty()) continue;
    // Chunks whose remaining tokens need no model (media sample tails) go to
    // the sample threads; one model step for the rest.
    {
      std::vector<std::unique_ptr<Running>> tails;
      size_t kept = 0;
      for (Running& r : running) {
        if (r.done() || r.needs_model()) {
          if (&running[kept] != &r) running[kept] = std::move(r);
          ++kept;
        } else {
          tails.push_back(std::make_unique<Running>(std::move(r)));
        }
      }
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(kept), running.end());
      if (!tails.empty()) {
        running_.fetch_add(tails.size());
        {
          std::lock_guard<std::mutex> l(mu_);
          for (auto& t : tails) tails_.push_back(std::move(t));
        }
        tail_cv_.notify_all();
        ReportRunning(running.size(), &reported);
      }
    }
    batch.clear();
    stepped.clear();
    for (size_t k = 0; k < running.size(); ++k) {
      Running& r = running[k];
      if (r.done()) continue;
      batch.push_back(r.enc ? StreamInput{r.enc->state(), r.enc->NextInputs(opt_.block_tokens)}
                            : StreamInput{r.dec->state(), r.dec->NextInputs()});
      stepped.push_back(k);
    }
    if (!batch.empty()) {
      const auto start = std::chrono::steady_clock::now();
      ev.Evaluate(batch, &freqs);
      if (observer_) {
        int tokens = 0;
        for (const StreamInput& in : batch) tokens += static_cast<int>(in.tokens.size());
        observer_->Stepped(static_cast<int>(batch.size()), tokens,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                               .count());
      }
    }
    size_t row = 0;
    for (size_t b = 0; b < stepped.size(); ++b) {
      Running& r = running[stepped[b]];
      uint16_t* rows = &freqs[row * ModelConfig::kVocab];
      if (r.enc) {
        r.enc->Code(rows);
      } else {
        r.dec->Code(rows);
      }
      row += batch[b].tokens.size();
    }
    for (Running& r : running) {
      if (r.done() && !r.job->finished) Complete(r);
    }
    std::erase_if(running, [](const Running& r) { return r.complete || r.job->finished.load(); });
    ReportRunning(running.size(), &reported);
  }
  for (Running& r : running) r.job->Finish(absl::UnavailableError("server is shutting down"));
}

}  // namespace lmc
