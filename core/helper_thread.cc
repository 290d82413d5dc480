#include "core/helper_thread.h"

#include <chrono>

namespace lmc {
namespace {

// How long the helper spins for the next step before it sleeps, and the caller
// for a claimed part before it yields its core.
constexpr auto kSpinFor = std::chrono::microseconds(200);
// A helper that found this many posted parts already taken in a row sleeps.
constexpr int kMissesBeforeSleep = 4;
// While the helper sleeps, the caller runs this many steps alone, then posts
// one to the helper and wakes it.
constexpr int kStepsAloneBeforeWaking = 64;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins while pred() holds, up to kSpinFor; returns whether it still holds.
template <typename Pred>
bool SpinWhile(Pred pred) {
  const auto until = std::chrono::steady_clock::now() + kSpinFor;
  for (int i = 1;; ++i) {
    if (!pred()) return false;
    CpuRelax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) return pred();
  }
}

}  // namespace

HelperThread::HelperThread() : thread_([this] { Loop(); }) {}

HelperThread::~HelperThread() {
  stop_ = true;
  posted_.fetch_add(1);
  posted_.notify_one();
  thread_.join();
}

bool HelperThread::Claim(uint64_t step) {
  uint64_t before = step - 1;
  return claimed_.compare_exchange_strong(before, step, std::memory_order_acq_rel);
}

void HelperThread::Split(absl::FunctionRef<void(int part)> fn) {
  if (sleeping_.load(std::memory_order_relaxed) && ++local_steps_ < kStepsAloneBeforeWaking) {
    fn(0);
    fn(1);
    ++alone_;
    return;
  }
  local_steps_ = 0;
  job_ = &fn;
  const uint64_t step = posted_.load(std::memory_order_relaxed) + 1;
  // seq_cst store and load, against the helper's store of sleeping_ and load
  // of posted_: one of the two sees the other, so no wake-up is lost.
  posted_.store(step);
  if (sleeping_.load()) posted_.notify_one();
  fn(0);
  if (Claim(step)) {  // the helper has not started it: no waiting for it
    fn(1);
    ++alone_;
    return;
  }
  while (SpinWhile([&] { return finished_.load(std::memory_order_acquire) != step; })) {
    std::this_thread::yield();
  }
}

void HelperThread::Loop() {
  uint64_t seen = 0;
  int misses = 0;
  while (true) {
    while (misses >= kMissesBeforeSleep ||
           SpinWhile([&] { return posted_.load(std::memory_order_acquire) == seen; })) {
      misses = 0;
      sleeping_.store(true);
      if (posted_.load() == seen) posted_.wait(seen);
      sleeping_.store(false, std::memory_order_relaxed);
    }
    seen = posted_.load(std::memory_order_acquire);
    if (stop_) return;
    if (!Claim(seen)) {  // the caller took it, or a later step is posted
      ++misses;
      continue;
    }
    misses = 0;
    (*job_)(1);
    helped_.fetch_add(1, std::memory_order_relaxed);
    finished_.store(seen, std::memory_order_release);
  }
}

}  // namespace lmc
