#include "core/helper_thread.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace lmc {
namespace {

TEST(HelperThreadTest, RunsBothPartsOnTwoThreadsEveryStep) {
  HelperThread helper;
  std::vector<int> sums(2, 0);
  std::thread::id ids[2];
  for (int step = 1; step <= 20000; ++step) {
    helper.Split([&](int part) {
      sums[part] += step;
      ids[part] = std::this_thread::get_id();
    });
    // Both parts have returned when Split does.
    ASSERT_EQ(sums[0], sums[1]) << "step " << step;
  }
  EXPECT_EQ(sums[0], 20000 * 20001 / 2);
  EXPECT_EQ(ids[0], std::this_thread::get_id());
  EXPECT_NE(ids[1], ids[0]);
}

// Past its spinning time the helper sleeps; a step still wakes it.
TEST(HelperThreadTest, WakesFromSleep) {
  HelperThread helper;
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    helper.Split([&](int part) {
      if (part == 1) ++done;
    });
    EXPECT_EQ(done, i + 1);
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
