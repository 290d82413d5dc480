#include "engine/scheduler.h"

#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <random>
#include <thread>

#include "core/frame.h"
#include "engine/chunk_coder.h"
#include "engine/codec.h"
#include "media/media_codec.h"
#include "gtest/gtest.h"
#include "model/random_model.h"

namespace lmc {
namespace {

using Result = absl::StatusOr<std::vector<std::string>>;

std::unique_ptr<IntModel> Tiny() {
  return std::move(IntModel::FromBytes(MakeRandomModel(TinyConfig(), 5))).value();
}

std::string Text(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += "word" + std::to_string(rng() % 50) + (rng() % 7 ? " " : "\n");
  s.resize(n);
  return s;
}

std::vector<std::string_view> Cut(const std::string& s, size_t chunk) {
  std::vector<std::string_view> v;
  for (size_t p = 0; p < s.size(); p += chunk) v.push_back(std::string_view(s).substr(p, chunk));
  return v;
}

// Raises `most` to `now` if it is larger (from any thread).
void KeepMost(std::atomic<uint64_t>& most, uint64_t now) {
  uint64_t seen = most.load();
  while (now > seen && !most.compare_exchange_weak(seen, now)) {
  }
}

Result RunEncode(Scheduler& s, std::vector<std::string_view> chunks, Scheduler::Check check = {}) {
  std::promise<Result> p;
  absl::Status st = s.SubmitEncode(std::move(chunks), std::move(check),
                                   [&](Result r) { p.set_value(std::move(r)); });
  if (!st.ok()) return st;
  return p.get_future().get();
}

// Decodes payloads[i] (tokens[i] tokens each) through the scheduler.
Result RunDecode(Scheduler& s, const std::vector<std::string>& payloads,
                 std::vector<uint32_t> tokens) {
  std::vector<std::span<const uint8_t>> spans;
  for (const std::string& p : payloads) {
    spans.emplace_back(reinterpret_cast<const uint8_t*>(p.data()), p.size());
  }
  std::promise<Result> p;
  absl::Status st = s.SubmitDecode(std::move(spans), std::move(tokens), {},
                                   [&](Result r) { p.set_value(std::move(r)); });
  if (!st.ok()) return st;
  return p.get_future().get();
}

// Records every model step: which thread ran it, with how many chunks.
class StepRecorder : public SchedulerObserver {
 public:
  void Admitted(double) override { ++admitted_; }
  void Stepped(int streams, int tokens, double) override {
    std::lock_guard<std::mutex> l(mu_);
    threads_.insert(std::this_thread::get_id());
    max_streams_ = std::max(max_streams_, streams);
    tokens_ += tokens;
  }
  int64_t tokens() {
    std::lock_guard<std::mutex> l(mu_);
    return tokens_;
  }
  bool ran_on_this_thread() {
    std::lock_guard<std::mutex> l(mu_);
    return threads_.count(std::this_thread::get_id()) > 0;
  }
  int admitted() const { return admitted_; }
  size_t threads() {
    std::lock_guard<std::mutex> l(mu_);
    return threads_.size();
  }
  int max_streams() {
    std::lock_guard<std::mutex> l(mu_);
    return max_streams_;
  }

 private:
  std::atomic<int> admitted_{0};
  std::mutex mu_;
  std::set<std::thread::id> threads_;
  int max_streams_ = 0;
  int64_t tokens_ = 0;  // model inputs evaluated
};

// A burst of 16 chunks on 2 workers: each takes its share (at most 8), so both
// run, rather than one batching all 16 while the other idles.
TEST(SchedulerTest, ABurstIsSharedByTheWorkers) {
  auto model = Tiny();
  StepRecorder steps;
  Scheduler s(*model, {.workers = 2, .max_batch_streams = 32, .token_budget = 1 << 20},
              &steps);
  const std::string text = Text(16 * 300, 21);
  Result r = RunEncode(s, Cut(text, 300));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 16u);
  EXPECT_EQ(steps.admitted(), 16);
  EXPECT_EQ(steps.threads(), 2u);
  EXPECT_LE(steps.max_streams(), 8);
  EXPECT_GT(steps.max_streams(), 0);
}

// Many jobs of mixed sizes from many threads, sharing batches: every chunk's
// payload is the one local mode makes alone, and it decodes back.
TEST(SchedulerTest, ConcurrentJobsMatchLocalModeAndRoundTrip) {
  auto m = Tiny();
  SchedulerOptions opt;
  opt.workers = 2;
  opt.max_batch_streams = 7;
  opt.block_tokens = 17;
  Scheduler s(*m, opt);
  std::vector<std::string> inputs;
  for (int i = 0; i < 12; ++i) inputs.push_back(Text(1 + i * 97 + (i % 3) * 500, i));
  std::vector<std::thread> threads;
  std::vector<Result> enc(inputs.size(), absl::UnknownError("not run"));
  for (size_t i = 0; i < inputs.size(); ++i) {
    threads.emplace_back([&, i] { enc[i] = RunEncode(s, Cut(inputs[i], 300)); });
  }
  for (auto& t : threads) t.join();
  CodecOptions local;
  local.threads = 1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(enc[i].ok()) << enc[i].status();
    EXPECT_EQ(*enc[i], EncodeChunks(*m, Cut(inputs[i], 300), local)) << i;
    std::vector<uint32_t> tokens;
    for (const std::string_view c : Cut(inputs[i], 300)) tokens.push_back(c.size());
    Result back = RunDecode(s, *enc[i], tokens);
    ASSERT_TRUE(back.ok()) << back.status();
    std::string joined;
    for (auto& part : *back) joined += part;
    EXPECT_EQ(joined, inputs[i]);
  }
}

// A media stream: the model runs for its container tokens only (sample tokens
// are coded from a flat table, docs/format.md), in both directions; payloads
// are local mode's and decode back.
TEST(SchedulerTest, MediaSamplesNeedNoModelSteps) {
  auto m = Tiny();
  StepRecorder steps;
  Scheduler s(*m, {.workers = 2, .max_batch_streams = 4, .block_tokens = 64}, &steps);
  std::string file = "P5\n# a comment that the container keeps\n40 30\n255\n";
  for (int i = 0; i < 40 * 30; ++i) file.push_back(static_cast<char>((i % 40) * 3 + (i / 40)));
  media::MediaTokens mt = media::ToTokens(file);
  ASSERT_EQ(mt.modality, media::Modality::kImage);
  const auto layout = std::make_shared<const media::TokenLayout>(mt.layout);
  ASSERT_GT(layout->container, 40u);  // the first chunk holds all of it
  const auto chunks = Cut(mt.tokens, 300);
  std::promise<Result> p;
  ASSERT_TRUE(s.SubmitEncode(chunks, {}, [&](Result r) { p.set_value(std::move(r)); }, layout).ok());
  Result enc = p.get_future().get();
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(steps.tokens(), static_cast<int64_t>(layout->container));
  CodecOptions local;
  local.threads = 1;
  EXPECT_EQ(*enc, EncodeChunks(*m, chunks, local, layout.get()));
  std::vector<std::span<const uint8_t>> spans;
  std::vector<uint32_t> tokens;
  for (size_t i = 0; i < enc->size(); ++i) {
    spans.emplace_back(reinterpret_cast<const uint8_t*>((*enc)[i].data()), (*enc)[i].size());
    tokens.push_back(chunks[i].size());
  }
  std::promise<Result> q;
  ASSERT_TRUE(s.SubmitDecode(spans, tokens, {}, [&](Result r) { q.set_value(std::move(r)); }, layout)
                  .ok());
  Result back = q.get_future().get();
  ASSERT_TRUE(back.ok()) << back.status();
  std::string joined;
  for (auto& part : *back) joined += part;
  EXPECT_EQ(joined, mt.tokens);
  EXPECT_EQ(steps.tokens(), 2 * static_cast<int64_t>(layout->container));
}

// A w x h 8-bit PGM (a gradient with noise) as a media job's chunks and layout.
struct MediaJob {
  std::string tokens;
  std::shared_ptr<const media::TokenLayout> layout;
};
MediaJob Pgm(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string file = "P5\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
  for (int i = 0; i < w * h; ++i) file.push_back(static_cast<char>(i % w + i / w + rng() % 8));
  media::MediaTokens mt = media::ToTokens(file);
  EXPECT_EQ(mt.modality, media::Modality::kImage);
  return {std::move(mt.tokens), std::make_shared<const media::TokenLayout>(mt.layout)};
}

// Waits for a future for at most a minute: a scheduler that stalls fails the
// test instead of hanging it.
template <typename T>
bool Ready(std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
}

// A media chunk's sample tail is coded by a sample thread, not by the model
// worker: while the tail waits (its check blocks until a byte job is done),
// the one worker goes on serving that byte job.
TEST(SchedulerTest, AMediaTailDoesNotStallTheModelBatch) {
  auto m = Tiny();
  StepRecorder steps;
  Scheduler s(*m, {.workers = 1, .sample_workers = 1, .sample_slice_tokens = 256}, &steps);
  const MediaJob image = Pgm(64, 64, 1);
  std::promise<void> byte_done;
  std::shared_future<void> byte_done_f = byte_done.get_future().share();
  std::atomic<bool> waited_off_the_worker{false};
  auto check = [&]() -> absl::Status {
    // Before its first model step the worker's id is unknown: nothing waits.
    if (steps.threads() == 0 || steps.ran_on_this_thread()) return absl::OkStatus();
    waited_off_the_worker = true;
    if (byte_done_f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      return absl::DeadlineExceededError("the byte job never finished");
    }
    return absl::OkStatus();
  };
  std::promise<Result> media_p;
  ASSERT_TRUE(s.SubmitEncode({image.tokens}, check,
                             [&](Result r) { media_p.set_value(std::move(r)); }, image.layout)
                  .ok());
  const std::string text = Text(2000, 5);
  std::promise<Result> text_p;
  ASSERT_TRUE(s.SubmitEncode(Cut(text, 500), {}, [&](Result r) {
                 text_p.set_value(std::move(r));
                 byte_done.set_value();
               }).ok());
  std::future<Result> media_f = media_p.get_future(), text_f = text_p.get_future();
  ASSERT_TRUE(Ready(text_f));
  ASSERT_TRUE(Ready(media_f));
  Result media = media_f.get(), bytes = text_f.get();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_TRUE(waited_off_the_worker);
  CodecOptions local;
  local.threads = 1;
  EXPECT_EQ(*media, EncodeChunks(*m, {image.tokens}, local, image.layout.get()));
  EXPECT_EQ(*bytes, EncodeChunks(*m, Cut(text, 500), local));
}

// A deadline or a cancelled call stops a sample tail between two slices; the
// chunk's media place is given back (the next media job, with room for one,
// completes).
TEST(SchedulerTest, ACancelledCallStopsItsSampleTail) {
  auto m = Tiny();
  StepRecorder steps;
  Scheduler s(*m, {.workers = 1, .sample_workers = 1, .max_media_chunks = 1,
                   .sample_slice_tokens = 256}, &steps);
  const MediaJob image = Pgm(64, 64, 2);  // 4096 samples: 16 slices
  std::atomic<int> tail_checks{0};
  auto check = [&]() -> absl::Status {
    if (steps.threads() == 0 || steps.ran_on_this_thread()) return absl::OkStatus();
    return ++tail_checks >= 3 ? absl::CancelledError("client went away") : absl::OkStatus();
  };
  std::promise<Result> p;
  ASSERT_TRUE(s.SubmitEncode({image.tokens}, check, [&](Result r) { p.set_value(std::move(r)); },
                             image.layout)
                  .ok());
  std::future<Result> f = p.get_future();
  ASSERT_TRUE(Ready(f));
  EXPECT_EQ(f.get().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(tail_checks.load(), 3);
  std::promise<Result> q;
  ASSERT_TRUE(s.SubmitEncode({image.tokens}, {}, [&](Result r) { q.set_value(std::move(r)); },
                             image.layout)
                  .ok());
  std::future<Result> g = q.get_future();
  ASSERT_TRUE(Ready(g));
  EXPECT_TRUE(g.get().ok());
}

// With room for one media chunk, three media jobs run one at a time (each
// holds its contexts' memory until done) on two sample threads, and a byte job
// queued behind them passes them.
TEST(SchedulerTest, MediaChunksBeyondTheLimitWait) {
  auto m = Tiny();
  Scheduler s(*m, {.workers = 1, .sample_workers = 2, .max_media_chunks = 1,
                   .sample_slice_tokens = 128});
  std::atomic<uint64_t> most{0};
  auto check = [&]() -> absl::Status {
    KeepMost(most, s.media_chunks());
    return absl::OkStatus();
  };
  std::vector<MediaJob> images;
  for (int i = 0; i < 3; ++i) images.push_back(Pgm(48 + i, 40, 10 + i));
  std::vector<std::promise<Result>> promises(4);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.SubmitEncode({images[i].tokens}, check,
                               [&, i](Result r) { promises[i].set_value(std::move(r)); },
                               images[i].layout)
                    .ok());
  }
  const std::string text = Text(600, 7);
  ASSERT_TRUE(s.SubmitEncode({text}, {}, [&](Result r) { promises[3].set_value(std::move(r)); })
                  .ok());
  CodecOptions local;
  local.threads = 1;
  for (int i = 0; i < 4; ++i) {
    std::future<Result> f = promises[i].get_future();
    ASSERT_TRUE(Ready(f)) << i;
    Result r = f.get();
    ASSERT_TRUE(r.ok()) << r.status();
    if (i < 3) {
      EXPECT_EQ(*r, EncodeChunks(*m, {images[i].tokens}, local, images[i].layout.get())) << i;
    } else {
      EXPECT_EQ(*r, EncodeChunks(*m, {text}, local));
    }
  }
  EXPECT_EQ(most.load(), 1u);
}

// A memory budget bounds what the chunks in progress hold, across workers:
// with room for one and a half chunks they run one at a time, and a chunk
// larger than the budget runs alone. Without one, a worker takes two of the
// four at once. The payloads are local mode's every time.
TEST(SchedulerTest, AMemoryBudgetBoundsTheChunksInProgress) {
  auto m = Tiny();
  const std::string in = Text(6000, 11);
  const std::vector<std::string_view> chunks = Cut(in, 1500);
  const uint64_t one = ChunkCoderMemory(1500, false);
  CodecOptions local;
  local.threads = 1;
  const std::vector<std::string> want = EncodeChunks(*m, chunks, local);
  for (const uint64_t budget : {one + one / 2, uint64_t{1}, uint64_t{0}}) {
    Scheduler s(*m, {.workers = 2, .memory_budget_bytes = budget});
    std::atomic<uint64_t> most{0};
    auto check = [&]() -> absl::Status {
      KeepMost(most, s.memory_in_use());
      return absl::OkStatus();
    };
    Result enc = RunEncode(s, chunks, check);
    ASSERT_TRUE(enc.ok()) << enc.status();
    EXPECT_EQ(*enc, want) << budget;
    if (budget > 0) {
      EXPECT_EQ(most.load(), one) << budget;
    } else {
      EXPECT_GE(most.load(), 2 * one);
    }
    Result back = RunDecode(s, *enc, {1500, 1500, 1500, 1500});
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ((*back)[0] + (*back)[1] + (*back)[2] + (*back)[3], in);
  }
}

// A short chunk finishes steps before its long sibling and must leave the batch
// at once (it once kept decoding past its end).
TEST(SchedulerTest, ChunksOfOneJobFinishingAtDifferentStepsDecode) {
  auto m = Tiny();
  Scheduler s(*m, {});
  const std::string in = Text(5000, 9);
  auto chunks = Cut(in, 4096);
  Result enc = RunEncode(s, chunks);
  ASSERT_TRUE(enc.ok());
  Result back = RunDecode(s, *enc, {4096, 904});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)[0] + (*back)[1], in);
}

TEST(SchedulerTest, CorruptPayloadIsDataLoss) {
  auto m = Tiny();
  Scheduler s(*m, {});
  std::string in = Text(400, 1);
  Result enc = RunEncode(s, {in});
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(RunDecode(s, {(*enc)[0] + "junk"}, {400}).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(SchedulerTest, FullQueueIsResourceExhaustedAtOnce) {
  auto m = Tiny();
  SchedulerOptions opt;
  opt.max_queued_chunks = 4;
  Scheduler s(*m, opt);
  std::string in = Text(10000, 2);
  auto chunks = Cut(in, 100);  // 100 chunks > 4
  absl::Status st = s.SubmitEncode(chunks, {}, [](Result) { FAIL() << "must not run"; });
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.queued_chunks(), 0u);
  EXPECT_TRUE(RunEncode(s, Cut(in.substr(0, 300), 100)).ok());  // and it keeps serving
}

TEST(SchedulerTest, CancelledJobLeavesTheBatchAndFreesItsSlots) {
  auto m = Tiny();
  SchedulerOptions opt;
  opt.max_batch_streams = 2;
  Scheduler s(*m, opt);
  std::string big = Text(200000, 3);
  std::atomic<bool> cancel{false};
  std::promise<Result> p;
  ASSERT_TRUE(s.SubmitEncode(Cut(big, 50000),
                             [&] { return cancel ? absl::CancelledError("client went away")
                                                 : absl::OkStatus(); },
                             [&](Result r) { p.set_value(std::move(r)); })
                  .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  cancel = true;
  EXPECT_EQ(p.get_future().get().status().code(), absl::StatusCode::kCancelled);
  // The slots are free again: a small job completes.
  EXPECT_TRUE(RunEncode(s, {std::string_view(big).substr(0, 200)}).ok());
  EXPECT_EQ(s.queued_chunks(), 0u);
}

TEST(SchedulerTest, CancelledQueuedChunksGiveTheirPlacesBackAtOnce) {
  auto m = Tiny();
  SchedulerOptions opt;
  opt.max_batch_streams = 1;
  opt.max_queued_chunks = 4;
  Scheduler s(*m, opt);
  const std::string big = Text(200000, 4);
  std::atomic<bool> cancel{false};
  std::promise<Result> first;
  ASSERT_TRUE(s.SubmitEncode(Cut(big, 50000),
                             [&] { return cancel ? absl::CancelledError("gone") : absl::OkStatus(); },
                             [&](Result r) { first.set_value(std::move(r)); })
                  .ok());
  cancel = true;
  // Four more chunks only fit if the cancelled job's queued chunks leave now.
  std::promise<Result> second;
  absl::Status st = s.SubmitEncode(Cut(big.substr(0, 400), 100), {},
                                   [&](Result r) { second.set_value(std::move(r)); });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(first.get_future().get().status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(second.get_future().get().ok());
}

TEST(SchedulerTest, EmptyJobCompletesAtOnce) {
  auto m = Tiny();
  Scheduler s(*m, {});
  Result r = RunEncode(s, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace lmc
