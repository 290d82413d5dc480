#include "model/kernels.h"

#include <gtest/gtest.h>

#include <random>

namespace lmc::kernels {
namespace {

TEST(KernelsTest, PackedMatMulEqualsReference) {
  std::mt19937_64 rng(1);
  struct Shape {
    int rows, k, cols;
  } shapes[] = {{1, 16, 16}, {3, 32, 96}, {4, 192, 576}, {17, 768, 192}, {64, 192, 256},
                {5, 12, 7}, {2, 4096, 32},
                // 1-3 rows go through one pass over the weights, 8 (4 for 3 rows)
                // column blocks at a time and then the 1-7 blocks left; 6 and 7
                // rows are a 4-row tile and those.
                {1, 64, 240}, {2, 64, 208}, {2, 128, 224}, {2, 64, 240}, {3, 64, 208},
                {3, 128, 224}, {3, 64, 240}, {6, 192, 224}, {7, 64, 208}};
  for (const Shape& s : shapes) {
    std::vector<int8_t> a(size_t(s.rows) * s.k), w(size_t(s.cols) * s.k);
    for (auto& x : a) x = static_cast<int8_t>(int(rng() % 255) - 127);
    for (auto& x : w) x = static_cast<int8_t>(int(rng() % 255) - 127);
    // Extremes too: all +-127 must not overflow.
    if (s.rows == 2) std::fill(a.begin(), a.end(), -127), std::fill(w.begin(), w.end(), 127);
    std::vector<int32_t> ref(size_t(s.rows) * s.cols), got(ref.size());
    MatMulInt8(a.data(), s.rows, s.k, w.data(), s.cols, ref.data());
    for (int r = 0; r < s.rows; ++r) {
      int64_t direct = 0;
      for (int i = 0; i < s.k; ++i) direct += int64_t{a[size_t(r) * s.k + i]} * w[i];
      ASSERT_EQ(ref[size_t(r) * s.cols], direct);
    }
    PackedWeights p = Pack(w.data(), s.cols, s.k);
    MatMul(a.data(), s.rows, p, got.data());
    EXPECT_EQ(got, ref) << s.rows << "x" << s.k << "x" << s.cols
                        << (p.vnni.empty() ? " portable" : " vnni");
    // Column ranges, as two threads split them, write the same.
    const int half = s.cols / kColumnBlock / 2 * kColumnBlock;
    std::vector<int32_t> halves(ref.size(), -1);
    MatMulColumns(a.data(), s.rows, p, 0, half, halves.data());
    MatMulColumns(a.data(), s.rows, p, half, s.cols, halves.data());
    EXPECT_EQ(halves, ref) << s.rows << "x" << s.k << "x" << s.cols << " in halves at " << half;
    // Ranges of k, as two threads split them, add up to the same; the split at
    // kSumSpan takes the fast path where the shape has one, the others not.
    for (int k0 : {s.k / kSumSpan / 2 * kSumSpan, s.k / 2, 0}) {
      std::vector<int32_t> first(ref.size(), -1), second(ref.size(), -1);
      MatMulSpan(a.data(), s.rows, p, 0, k0, first.data());
      MatMulSpan(a.data(), s.rows, p, k0, s.k, second.data());
      for (size_t i = 0; i < ref.size(); ++i) first[i] += second[i];
      EXPECT_EQ(first, ref) << s.rows << "x" << s.k << "x" << s.cols << " split at k " << k0;
    }
  }
}

TEST(KernelsTest, ISqrtIsExact) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    uint64_t r = ISqrt(v);
    ASSERT_LE(r * r, v);
    ASSERT_GT((r + 1) * (r + 1), v) << v;
  }
  EXPECT_EQ(ISqrt(~0ull), 0xFFFFFFFFull);
  EXPECT_EQ(ISqrt(0), 0u);
}

TEST(KernelsTest, RoundingHelpers) {
  EXPECT_EQ(RoundDiv(5, 2), 3);
  EXPECT_EQ(RoundDiv(-5, 2), -2);
  EXPECT_EQ(RoundDiv(-7, 3), -2);
  EXPECT_EQ(RoundDiv(7, 3), 2);
  EXPECT_EQ(RoundShift(3, 1), 2);
  EXPECT_EQ(RoundShift(-3, 1), -1);
  EXPECT_EQ(RoundShift(-4, 2), -1);
}

}  // namespace
}  // namespace lmc::kernels
