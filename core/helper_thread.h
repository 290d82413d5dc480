// A second thread for one caller's fork-join steps: Split(fn) runs fn(0) on the
// caller and fn(1) on the helper, and returns when both have returned. Made
// for decoding a single chunk, where the model's step is split between two
// cores thousands of times a second: the helper spins a while between steps
// (a step's hand-over costs well under a microsecond that way) and sleeps
// when none comes.
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

  // fn must not throw. One caller at a time.
  void Split(absl::FunctionRef<void(int part)> fn);

 private:
  void Loop();

  absl::FunctionRef<void(int)>* job_ = nullptr;  // set before posted_ moves
  std::atomic<uint64_t> posted_{0};    // steps handed to the helper
  std::atomic<uint64_t> finished_{0};  // steps the helper has finished
  std::atomic<bool> sleeping_{false};  // the helper waits on posted_
  bool stop_ = false;                  // set before the last post
  std::thread thread_;
};

}  // namespace lmc

#endif  // LMC_CORE_HELPER_THREAD_H_
