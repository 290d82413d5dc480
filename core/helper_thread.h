// A second thread for one caller's fork-join steps: Split(fn) runs fn(0) and
// fn(1) and returns when both have returned, fn(1) on a helper thread when it
// keeps up. Made for decoding a single chunk, where the model's step is split
// between two cores thousands of times a second: the helper spins between
// steps (a hand-over costs about a microsecond that way) and sleeps when none
// comes.
//
// A helper that is not running when a step is posted (the machine has more
// busy threads than cores: two decoders on two cores) must not stall its
// caller: after its own part the caller claims the helper's part if the helper
// has not, and runs it itself. A helper that keeps missing its parts sleeps,
// and the caller runs whole steps alone, waking it now and then to try again.
//
//   HelperThread helper;
//   helper.Split([&](int part) { Work(part == 0 ? first_half : second_half); });
#ifndef LMC_CORE_HELPER_THREAD_H_
#define LMC_CORE_HELPER_THREAD_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/functional/function_ref.h"

namespace lmc {

class HelperThread {
 public:
  HelperThread();
  ~HelperThread();  // joins the helper
  HelperThread(const HelperThread&) = delete;
  HelperThread& operator=(const HelperThread&) = delete;

  // fn(0) and fn(1) must be independent (either may run first, on either
  // thread) and must not throw. One caller at a time.
  void Split(absl::FunctionRef<void(int part)> fn);

  // Parts 1 run so far by the helper and by the caller (for tests and
  // benchmarks; read them from the caller's thread).
  uint64_t parts_helped() const { return helped_.load(std::memory_order_relaxed); }
  uint64_t parts_alone() const { return alone_; }

 private:
  void Loop();
  // Takes step `step`'s part 1 for the calling thread, if no one has.
  bool Claim(uint64_t step);

  absl::FunctionRef<void(int)>* job_ = nullptr;  // set before posted_ moves
  std::atomic<uint64_t> posted_{0};    // steps handed to the helper
  std::atomic<uint64_t> claimed_{0};   // steps whose part 1 someone took
  std::atomic<uint64_t> finished_{0};  // steps whose part 1 the helper finished
  std::atomic<bool> sleeping_{false};  // the helper waits on posted_
  std::atomic<uint64_t> helped_{0};
  uint64_t alone_ = 0;
  int local_steps_ = 0;  // steps run alone since the helper was last woken
  bool stop_ = false;    // set before the last post
  std::thread thread_;
};

}  // namespace lmc

#endif  // LMC_CORE_HELPER_THREAD_H_
