#include "core/helper_thread.h"

#include <chrono>

namespace lmc {
namespace {

// How long the helper spins for the next step before it sleeps, and the caller
// for the helper's half before it yields its core (a helper that the machine
// descheduled must get it back).
constexpr auto kSpinFor = std::chrono::microseconds(200);

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
  Split([](int) {});
  thread_.join();
}

void HelperThread::Split(absl::FunctionRef<void(int part)> fn) {
  job_ = &fn;
  const uint64_t step = posted_.load(std::memory_order_relaxed) + 1;
  // seq_cst store and load, against the helper's store of sleeping_ and load
  // of posted_: one of the two sees the other, so no wake-up is lost.
  posted_.store(step);
  if (sleeping_.load()) posted_.notify_one();
  fn(0);
  while (SpinWhile([&] { return finished_.load(std::memory_order_acquire) != step; })) {
    std::this_thread::yield();
  }
}

void HelperThread::Loop() {
  uint64_t seen = 0;
  while (true) {
    while (SpinWhile([&] { return posted_.load(std::memory_order_acquire) == seen; })) {
      sleeping_.store(true);
      if (posted_.load() == seen) posted_.wait(seen);
      sleeping_.store(false, std::memory_order_relaxed);
    }
    seen = posted_.load(std::memory_order_acquire);
    if (!stop_) (*job_)(1);
    finished_.store(seen, std::memory_order_release);
    if (stop_) return;
  }
}

}  // namespace lmc
