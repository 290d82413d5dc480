#include "model/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
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

TEST(KernelsTest, RequantisationsMatchThePortableLoops) {
  std::mt19937_64 rng(10);
  for (int cols : {1, 7, 8, 13, 192, 768}) {
    const int rows = 3;
    std::vector<int32_t> acc(size_t(rows) * cols), m(cols), s(cols), x(acc.size());
    std::vector<int64_t> b(cols);
    for (auto& a : acc) a = static_cast<int32_t>(rng());
    for (int o = 0; o < cols; ++o) {
      m[o] = static_cast<int32_t>(rng() % (uint64_t{1} << 31));
      s[o] = 1 + static_cast<int>(rng() % 62);
      b[o] = static_cast<int64_t>(rng() % (uint64_t{1} << 61)) - (int64_t{1} << 60);
    }
    for (auto& v : x) v = static_cast<int32_t>(int64_t(rng() % (1u << 25)) - (1 << 24));
    for (int lo : {-127, 0}) {
      std::vector<int8_t> out(acc.size()), ref(acc.size());
      RequantInt8(acc.data(), rows, cols, m.data(), s.data(), b.data(), lo, out.data());
      portable::RequantInt8(acc.data(), rows, cols, m.data(), s.data(), b.data(), lo, ref.data());
      EXPECT_EQ(out, ref) << cols << " columns";
    }
    std::vector<int32_t> got = x, want = x;
    RequantAddResidual(acc.data(), rows, cols, m.data(), s.data(), b.data(), 1 << 24, got.data());
    portable::RequantAddResidual(acc.data(), rows, cols, m.data(), s.data(), b.data(), 1 << 24,
                                 want.data());
    EXPECT_EQ(got, want) << cols << " columns";
    for (int64_t limit : {int64_t{1} << 30, int64_t{1} << 62}) {
      std::vector<int64_t> got64(acc.size(), 3), want64(acc.size(), 3);
      RequantClampInt64(acc.data(), rows, cols, m.data(), s.data(), b.data(), limit,
                        got64.data());
      portable::RequantClampInt64(acc.data(), rows, cols, m.data(), s.data(), b.data(), limit,
                                  want64.data());
      EXPECT_EQ(got64, want64) << cols << " columns, limit " << limit;
    }
    // A range of columns [c0, cols) of every row in one call: what the whole
    // call wrote there, and nothing outside it.
    const int c0 = cols / 3;
    std::vector<int8_t> part(acc.size(), 99), whole(acc.size());
    RequantInt8(acc.data(), rows, cols, m.data(), s.data(), b.data(), -127, whole.data());
    RequantInt8(&acc[c0], rows, cols - c0, &m[c0], &s[c0], &b[c0], -127, &part[c0], cols);
    std::vector<int32_t> x_part = x;
    RequantAddResidual(&acc[c0], rows, cols - c0, &m[c0], &s[c0], &b[c0], 1 << 24, &x_part[c0],
                       cols);
    for (int r = 0; r < rows; ++r) {
      for (int o = 0; o < cols; ++o) {
        const size_t at = size_t(r) * cols + o;
        EXPECT_EQ(part[at], o < c0 ? 99 : whole[at]) << cols << " columns, row " << r;
        EXPECT_EQ(x_part[at], o < c0 ? x[at] : want[at]) << cols << " columns, row " << r;
      }
    }
  }
}

// The norm's first half on residual rows (|x| <= 2^24), at the bounds too.
TEST(KernelsTest, CentreRowMatchesThePortableLoop) {
  std::mt19937_64 rng(11);
  for (int d : {1, 7, 8, 13, 192, 768}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<int32_t> x(d);
      for (auto& v : x) v = static_cast<int32_t>(int64_t(rng() % ((1u << 25) + 1)) - (1 << 24));
      if (round == 1) std::fill(x.begin(), x.end(), 1 << 24);
      if (round == 2) {
        for (int i = 0; i < d; ++i) x[i] = i % 2 ? 1 << 24 : -(1 << 24);
      }
      std::vector<int64_t> num(d + 1, 7), ref(d + 1, 7);
      const int steps = 1 + static_cast<int>(rng() % 64);
      EXPECT_EQ(CentreRow(x.data(), d, steps, num.data()),
                portable::CentreRow(x.data(), d, steps, ref.data()))
          << d << " dims, round " << round;
      EXPECT_EQ(num, ref) << d << " dims, round " << round;  // and nothing past d
    }
  }
}

}  // namespace
}  // namespace lmc::kernels
