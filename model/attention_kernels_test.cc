// The attention kernels against plain loops over the
// natural layout, on the AVX-512 path (where the CPU has it) and the portable one,
// at extremes and on shapes that exercise every tail.
#include "model/attention_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "model/kernels.h"

namespace lmc::kernels {
namespace {

struct Shape {
  int d, heads, window;
};
const Shape kShapes[] = {{192, 3, 256}, {12, 3, 7}, {10, 2, 33}, {64, 1, 300}, {48, 4, 17},
                         {96, 1, 1}};

int8_t RandomInt8(std::mt19937_64& rng, bool extreme) {
  return extreme ? (rng() % 2 ? 127 : -127) : static_cast<int8_t>(int(rng() % 255) - 127);
}

TEST(AttentionKernelsTest, DotsAndValueSumsMatchPlainLoops) {
  std::mt19937_64 rng(7);
  for (const Shape& sh : kShapes) {
    for (bool extreme : {false, true}) {
      const KvLayout kv(sh.d, sh.heads, sh.window);
      const int hd = kv.head_dim;
      std::vector<uint8_t> keys(kv.key_bytes, 128);
      std::vector<int8_t> values(kv.value_bytes, 0);
      std::vector<std::vector<int8_t>> k(sh.window, std::vector<int8_t>(sh.d)), v = k;
      for (int t = 0; t < sh.window; ++t) {
        for (int i = 0; i < sh.d; ++i) k[t][i] = RandomInt8(rng, extreme), v[t][i] = RandomInt8(rng, extreme);
        kv.StoreKey(keys.data(), t, k[t].data());
        kv.StoreValue(values.data(), t, v[t].data());
      }
      for (int n : {1, sh.window / 2 + 1, sh.window}) {
        n = std::min(n, sh.window);
        for (int h = 0; h < sh.heads; ++h) {
          const std::string where = "d=" + std::to_string(sh.d) + " window=" +
                                    std::to_string(sh.window) + " n=" + std::to_string(n) +
                                    " head " + std::to_string(h);
          std::vector<int8_t> q(4 * kv.groups, 0);
          for (int i = 0; i < hd; ++i) q[i] = RandomInt8(rng, extreme);
          std::vector<int32_t> dot(kv.slots), ref_dot(kv.slots);
          QueryKeyDots(q.data(), kv.HeadKeys(keys.data(), h), kv.groups, kv.slots, n, dot.data());
          portable::QueryKeyDots(q.data(), kv.HeadKeys(keys.data(), h), kv.groups, kv.slots, n,
                                 ref_dot.data());
          for (int t = 0; t < n; ++t) {
            int32_t want = 0;
            for (int i = 0; i < hd; ++i) want += q[i] * k[t][h * hd + i];
            ASSERT_EQ(dot[t], want) << where << " t=" << t;
            ASSERT_EQ(ref_dot[t], want) << where << " t=" << t;
          }
          std::vector<int32_t> w(n);
          for (auto& x : w) {
            const int r = static_cast<int>(rng() % 4);
            x = r == 0 ? 0 : r == 1 || extreme ? (1 << 24) : static_cast<int32_t>(rng() % (1 << 24));
          }
          std::vector<int64_t> num(hd), ref_num(hd);
          WeightedValueSum(w.data(), n, kv.HeadValues(values.data(), h), kv.value_stride, hd, num.data());
          portable::WeightedValueSum(w.data(), n, kv.HeadValues(values.data(), h), kv.value_stride,
                                     hd, ref_num.data());
          for (int i = 0; i < hd; ++i) {
            int64_t want = 0;
            for (int t = 0; t < n; ++t) want += int64_t{w[t]} * v[t][h * hd + i];
            ASSERT_EQ(num[i], want) << where << " dim " << i;
            ASSERT_EQ(ref_num[i], want) << where << " dim " << i;
          }
        }
      }
    }
  }
}

TEST(AttentionKernelsTest, LongWindowsKeepValueSumsExact) {
  // 8192 positions of weight 2^24 and value -127: the partial sums must be
  // flushed to int64 before they overflow.
  const KvLayout kv(16, 1, 8192);
  std::vector<int8_t> values(kv.value_bytes);
  std::vector<int8_t> v(16, -127);
  for (int t = 0; t < 8192; ++t) kv.StoreValue(values.data(), t, v.data());
  std::vector<int32_t> w(8192, 1 << 24);
  std::vector<int64_t> num(16);
  WeightedValueSum(w.data(), 8192, values.data(), kv.value_stride, 16, num.data());
  for (int64_t x : num) EXPECT_EQ(x, int64_t{-127} * 8192 * (1 << 24));
}

TEST(AttentionKernelsTest, WeightsMatchTheFormula) {
  std::mt19937_64 rng(8);
  std::vector<int32_t> table(4096);
  for (int i = 0; i < 4096; ++i) table[i] = static_cast<int32_t>((1 << 24) >> std::min(24, i / 100));
  for (int round = 0; round < 200; ++round) {
    // Every tenth round up to the largest window: alibi * distance near 2^29.
    int window = 1 + static_cast<int>(rng() % (round % 10 == 0 ? 8192 : 700));
    int n = 1 + static_cast<int>(rng() % window);
    int slot = n < window ? n - 1 : static_cast<int>(rng() % window);
    int64_t m = static_cast<int64_t>(rng() % (uint64_t{1} << 31));
    int s = 1 + static_cast<int>(rng() % 62);
    int64_t alibi = static_cast<int64_t>(rng() % ((1 << 16) + 1));
    const int table_size = 1 + static_cast<int>(rng() % 4096);
    std::vector<int32_t> dot(n);
    for (auto& x : dot) x = static_cast<int32_t>(int64_t(rng() % (1u << 25)) - (1 << 24));
    if (round % 10 == 5) {  // scores at both clamps, 2^30 apart and more
      window = 8192, n = 8192, slot = static_cast<int>(rng() % window);
      m = (int64_t{1} << 31) - 1, s = 1, alibi = 1 << 16;
      dot.resize(n);
      for (int t = 0; t < n; ++t) dot[t] = t % 3 == 0 ? (1 << 24) : -(1 << 24);
    }
    std::vector<int32_t> w(n), ref(n);
    const int64_t sum = AttentionWeights(dot.data(), n, slot, window, m, s, alibi, table.data(),
                                         table_size, w.data());
    const int64_t ref_sum = portable::AttentionWeights(dot.data(), n, slot, window, m, s, alibi,
                                                       table.data(), table_size, ref.data());
    std::vector<int64_t> score(n);
    for (int t = 0; t < n; ++t) {
      const int64_t dist = (slot - t + window) % window;
      score[t] = std::clamp(RoundShift(int64_t{dot[t]} * m, s), -(int64_t{1} << 30),
                            int64_t{1} << 30) - alibi * dist;
    }
    const int64_t mx = *std::max_element(score.begin(), score.end());
    int64_t want_sum = 0;
    for (int t = 0; t < n; ++t) {
      const int64_t want = mx - score[t] < table_size ? table[mx - score[t]] : 0;
      ASSERT_EQ(w[t], want) << "round " << round << " t=" << t;
      ASSERT_EQ(ref[t], want) << "round " << round << " t=" << t;
      want_sum += want;
    }
    EXPECT_EQ(sum, want_sum);
    EXPECT_EQ(ref_sum, want_sum);
  }
}

TEST(AttentionKernelsTest, DivisionRoundsHalvesUpAndClamps) {
  std::mt19937_64 rng(9);
  for (int round = 0; round < 2000; ++round) {
    const int n = 1 + static_cast<int>(rng() % 70);
    const int bits = 1 + static_cast<int>(rng() % 49);  // |num|, den < 2^50: the contract
    const int64_t den = 1 + static_cast<int64_t>(rng() >> (64 - bits));
    std::vector<int64_t> num(n);
    for (auto& x : num) {
      switch (rng() % 4) {
        case 0: x = (static_cast<int64_t>(rng() % 255) - 127) * den; break;  // exact
        case 1:  // halves, and one either side of them
          x = (static_cast<int64_t>(rng() % 255) - 127) * den + den / 2 +
              static_cast<int64_t>(rng() % 3) - 1;
          break;
        case 2: x = static_cast<int64_t>(rng() >> (15 + rng() % 49)) * (rng() % 2 ? 1 : -1); break;
        default: x = static_cast<int64_t>(rng() % 4000) - 2000;
      }
    }
    std::vector<int8_t> out(n), ref(n);
    DivideClampInt8(num.data(), n, den, out.data());
    portable::DivideClampInt8(num.data(), n, den, ref.data());
    for (int i = 0; i < n; ++i) {
      const int64_t want = std::clamp<int64_t>(RoundDiv(num[i], den), -127, 127);
      ASSERT_EQ(out[i], want) << num[i] << " / " << den;
      ASSERT_EQ(ref[i], want) << num[i] << " / " << den;
    }
  }
}

}  // namespace
}  // namespace lmc::kernels
