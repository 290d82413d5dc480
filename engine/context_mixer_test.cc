#include "engine/context_mixer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>

#include "core/range_coder.h"
#include "engine/apm.h"
#include "engine/logistic.h"
#include "gtest/gtest.h"

namespace lmc {
namespace {

TEST(LogisticTest, SquashIsMonotoneAndStretchInvertsIt) {
  EXPECT_EQ(Squash(0), 2048);
  EXPECT_EQ(Squash(-5000), 1);
  EXPECT_EQ(Squash(5000), 4095);
  for (int x = -2047; x < 2047; ++x) ASSERT_LE(Squash(x), Squash(x + 1)) << x;
  for (int p = 1; p < 4096; ++p) {
    const int x = Stretch(p);
    ASSERT_GE(Squash(x), p) << p;
    if (x > -2047) {
      ASSERT_LT(Squash(x - 1), p) << p;  // the least such x
    }
  }
}

TEST(ApmTest, StartsAsIdentityAndLearns) {
  Apm apm(2, 6);
  for (int p : {1, 100, 2048, 3000, 4095}) EXPECT_NEAR(apm.Refine(p, 0), p, p / 16 + 8);
  // In context 1, a 50% input is always followed by a 1: the map learns that.
  for (int i = 0; i < 500; ++i) {
    apm.Refine(2048, 1);
    apm.Update(1);
  }
  EXPECT_GT(apm.Refine(2048, 1), 3900);
  EXPECT_NEAR(apm.Refine(2048, 0), 2048, 8);  // other contexts untouched
}

// Coding cost in bits of `data` under uniform transformer frequencies;
// before(cm, i) runs at the start of byte i (after SetFrequencies).
template <typename Before>
double CostOf(const std::string& data, Before before) {
  ContextMixer cm(data.size());
  std::vector<uint16_t> uniform(256, 256);
  double bits = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    cm.SetFrequencies(uniform.data());
    before(cm, i);
    const auto c = static_cast<unsigned char>(data[i]);
    for (int k = 7; k >= 0; --k) {
      const int bit = (c >> k) & 1;
      const int p1 = cm.P1();
      EXPECT_GE(p1, 1);
      EXPECT_LE(p1, 4095);
      bits -= std::log2((bit ? p1 : 4096 - p1) / 4096.0);
      cm.Update(bit);
    }
  }
  return bits;
}

double CostOf(const std::string& data) {
  return CostOf(data, [](ContextMixer&, size_t) {});
}

TEST(ContextMixerTest, FirstPredictionIsTheTransformers) {
  ContextMixer cm(100);
  std::vector<uint16_t> f(256, 1);
  f['A'] = kTotal - 255;  // 'A' = 0b01000001: the first bit is 0 with p ~ 1
  cm.SetFrequencies(f.data());
  EXPECT_LT(cm.P1(), 40);
}

TEST(ContextMixerTest, LearnsRepetitionTheTransformerMisses) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog. ";
  // 8 bits per byte without learning; the statistics must take most of it away.
  EXPECT_LT(CostOf(text) / text.size(), 1.0);
}

// Lines that each copy the one above with a third of their letters changed
// at random; `shift`: each copy is also rotated by a random amount, which keeps
// the bytes to the left of most letters but moves them off their column.
std::string EditedLines(bool shift) {
  std::mt19937 rng(11);
  std::string line(47, 'a'), text;
  for (char& c : line) c = static_cast<char>('a' + rng() % 26);
  for (int i = 0; i < 400; ++i) {
    for (char& c : line) {
      if (rng() % 3 == 0) c = static_cast<char>('a' + rng() % 26);
    }
    if (shift) std::rotate(line.begin(), line.begin() + rng() % line.size(), line.end());
    text += line + "\n";
  }
  return text;
}

TEST(ContextMixerTest, TheByteAbovePredictsAlignedLines) {
  // Order-n contexts see the same amount of repetition either way; only the
  // line contexts (the byte above, with the last byte or the column) tell the
  // aligned lines apart.
  const double aligned = CostOf(EditedLines(false)), shifted = CostOf(EditedLines(true));
  EXPECT_LT(aligned, 0.8 * shifted) << aligned << " " << shifted;
}

// Pairs (a, b): a is one of four bytes at random, and b, for each a, takes
// two values in turn (`alternate`) or one of them at random.
std::string Followers(bool alternate) {
  std::mt19937 rng(13);
  std::array<bool, 4> turn{};
  std::string data;
  for (int i = 0; i < 6000; ++i) {
    const int a = static_cast<int>(rng() % 4);
    turn[a] = alternate ? !turn[a] : rng() % 2;
    data += static_cast<char>(0x10 + a);
    data += static_cast<char>((turn[a] ? 0x21 : 0x31) + a);
  }
  return data;
}

TEST(ContextMixerTest, TheIndirectContextsLearnWhatFollowedBefore) {
  // Order-n contexts see which b comes next only when the pair before had
  // the same a; the bytes that followed a before always tell (measured: 2.1
  // bits a pair, 2.6 without the indirect contexts, 3.1 for random followers).
  const double alternating = CostOf(Followers(true)), random = CostOf(Followers(false));
  EXPECT_LT(alternating, 0.8 * random) << alternating << " " << random;
}

TEST(ContextMixerTest, RandomBytesCostAboutEightBits) {
  std::mt19937 rng(7);
  std::string data(20000, 0);
  for (char& c : data) c = static_cast<char>(rng());
  const double bpb = CostOf(data) / data.size();
  EXPECT_GT(bpb, 7.9);
  EXPECT_LT(bpb, 8.2);  // the mixer must not wander far from the uniform input
}

TEST(ContextMixerTest, FollowsTheMatchModelsPrediction) {
  // Random bytes that a match model predicts right 9 times in 10: no context
  // can learn them, but the third mixer's weights (chosen by the bit the
  // prediction expects) learn to follow it.
  std::mt19937 rng(5);
  std::string data(20000, 0);
  for (char& c : data) c = static_cast<char>(rng());
  std::vector<int> predicted(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    predicted[i] =
        rng() % 10 ? static_cast<unsigned char>(data[i]) : static_cast<int>(rng() % 256);
  }
  const double with =
      CostOf(data, [&](ContextMixer& cm, size_t i) { cm.SetMatch(predicted[i], 20); });
  const double without = CostOf(data);
  EXPECT_GT(without / data.size(), 7.9);
  // A perfect follower would pay about 0.47 + 0.1 x 8 = 1.3 bits a byte; the
  // match mixer has a quarter of the vote (measured: 3.8).
  EXPECT_LT(with / data.size(), 5.0) << with / data.size();
}

TEST(ContextMixerTest, SameBytesSamePredictions) {
  std::mt19937 rng(3);
  std::string data;
  for (int i = 0; i < 5000; ++i) data += static_cast<char>('a' + rng() % 5);
  ContextMixer a(data.size()), b(data.size());
  std::vector<uint16_t> f(256, 256);
  for (unsigned char c : data) {
    a.SetFrequencies(f.data());
    b.SetFrequencies(f.data());
    for (int k = 7; k >= 0; --k) {
      ASSERT_EQ(a.P1(), b.P1());
      a.Update((c >> k) & 1);
      b.Update((c >> k) & 1);
    }
  }
}

// SetSpikedFrequencies is SetFrequencies for rows that are flat but for one
// symbol: the same predictions bit by bit.
TEST(ContextMixerTest, SpikedRowsPredictAsTheirTables) {
  std::mt19937 rng(5);
  ContextMixer a(4000), b(4000);
  for (int i = 0; i < 4000; ++i) {
    const int spike = static_cast<int>(rng() % 256);
    const uint32_t f = 1 + rng() % 256;  // the others; the spike takes the rest
    const uint32_t fb = kTotal - 255 * f;
    std::vector<uint16_t> row(256, static_cast<uint16_t>(f));
    row[spike] = static_cast<uint16_t>(fb);
    a.SetFrequencies(row.data());
    b.SetSpikedFrequencies(spike, f, fb);
    const int c = rng() % 3 ? spike : static_cast<int>(rng() % 256);
    for (int k = 7; k >= 0; --k) {
      ASSERT_EQ(a.P1(), b.P1()) << i;
      a.Update((c >> k) & 1);
      b.Update((c >> k) & 1);
    }
  }
}

TEST(ContextMixerTest, MemoryGrowsWithChunkUpToACap) {
  EXPECT_LT(ContextMixer::MemoryFor(300), ContextMixer::MemoryFor(100000));
  EXPECT_EQ(ContextMixer::MemoryFor(1 << 24), ContextMixer::MemoryFor(1 << 21));
  EXPECT_LT(ContextMixer::MemoryFor(1 << 20), ContextMixer::MemoryFor(1 << 21));
  EXPECT_LE(ContextMixer::MemoryFor(1 << 24), 73u << 20);  // 64 MiB of buckets
  // Media samples add their mixers and map.
  EXPECT_GT(ContextMixer::MemoryFor(1 << 20, {}, true), ContextMixer::MemoryFor(1 << 20));
  EXPECT_LE(ContextMixer::MemoryFor(1 << 24, {}, true), 78u << 20);
}

// Coding cost in bits of `data` as sample tokens whose contexts are
// ctx(i), with the given activity and shape.
template <typename Ctx>
double SampleCostOf(const std::string& data, Ctx ctx, int activity, int shape) {
  return CostOf(data, [&](ContextMixer& cm, size_t i) {
    std::array<uint32_t, ContextMixer::kSampleContexts> h;
    for (int k = 0; k < ContextMixer::kSampleContexts; ++k) h[k] = ctx(i) * 0x9E3779B1u + k;
    cm.SetSampleContexts(h.data(), activity, shape);
  });
}

// A sample token is predicted from the contexts it is given, not from the
// bytes before it: residual bytes that are a function of their context cost
// little with that context and about 8 bits without it.
TEST(ContextMixerTest, SampleTokensLearnFromTheirContexts) {
  std::mt19937 rng(11);
  std::vector<uint32_t> key(20000);
  std::string data(key.size(), 0);
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = rng() % 16;
    data[i] = static_cast<char>(key[i] * 37 + 5);  // one byte per key
  }
  const double informed = SampleCostOf(data, [&](size_t i) { return key[i]; }, 3, 0x88);
  const double blind = SampleCostOf(data, [](size_t) { return 7u; }, 3, 0x88);
  EXPECT_LT(informed / data.size(), 0.5);
  EXPECT_GT(blind / data.size(), 3.5);  // 16 equally likely values: 4 bits
  // Any activity and shape in range is valid and deterministic.
  EXPECT_EQ(SampleCostOf(data, [&](size_t i) { return key[i]; }, 31, 255),
            SampleCostOf(data, [&](size_t i) { return key[i]; }, 31, 255));
}

}  // namespace
}  // namespace lmc
