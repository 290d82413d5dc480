#include "core/helper_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace lmc {
namespace {

// Every step runs both parts exactly once, and both have returned when Split
// does, whichever thread ran part 1.
TEST(HelperThreadTest, RunsBothPartsOnceEveryStep) {
  HelperThread helper;
  std::vector<int> sums(2, 0);
  constexpr int kSteps = 20000;
  for (int step = 1; step <= kSteps; ++step) {
    helper.Split([&](int part) { sums[part] += step; });
    ASSERT_EQ(sums[0], sums[1]) << "step " << step;
  }
  EXPECT_EQ(sums[0], kSteps * (kSteps + 1) / 2);
  EXPECT_EQ(helper.parts_helped() + helper.parts_alone(), uint64_t{kSteps});
}

// Part 0 runs on the caller; the helper thread does take parts 1 (part 0
// yields until part 1 has started, a bounded number of times, so a step
// whose part 1 the caller ends up running itself still ends).
TEST(HelperThreadTest, TheHelperTakesParts) {
  HelperThread helper;
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> on_helper{0};
  bool part0_on_caller = true;
  for (int step = 0; step < 1000000 && helper.parts_helped() < 100; ++step) {
    std::atomic<bool> started{false};
    helper.Split([&](int part) {
      if (part == 1) {
        started = true;
        if (std::this_thread::get_id() != caller) ++on_helper;
        return;
      }
      part0_on_caller &= std::this_thread::get_id() == caller;
      for (int i = 0; i < 100 && !started; ++i) std::this_thread::yield();
    });
  }
  EXPECT_TRUE(part0_on_caller);
  EXPECT_EQ(helper.parts_helped(), 100u);
  EXPECT_EQ(on_helper, 100);
}

// Past its spinning time the helper sleeps; steps still complete, and it is
// woken to help again.
TEST(HelperThreadTest, StepsCompleteWhileTheHelperSleeps) {
  HelperThread helper;
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (int j = 0; j < 100; ++j) {
      helper.Split([&](int part) {
        if (part == 1) ++done;
      });
    }
    EXPECT_EQ(done, 100 * (i + 1));
  }
}

TEST(HelperThreadTest, DestroysIdleOrUnused) {
  { HelperThread unused; }
  HelperThread helper;
  helper.Split([](int) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

}  // namespace
}  // namespace lmc
