#include "engine/match_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "core/range_coder.h"

namespace lmc {
namespace {

// Every entry at least 1, total exactly 2^16: what the range coder needs.
void ExpectValidTable(const uint16_t* f) {
  uint32_t total = 0;
  for (int s = 0; s < 256; ++s) {
    ASSERT_GE(f[s], 1) << "symbol " << s;
    total += f[s];
  }
  ASSERT_EQ(total, kTotal);
}

// Total cost in bits of `text` under a uniform model adjusted by the match model,
// checking every adjusted table on the way.
double CostBits(const std::string& text) {
  MatchModel mm;
  double bits = 0;
  for (unsigned char c : text) {
    uint16_t f[256];
    for (auto& x : f) x = kTotal / 256;
    mm.Adjust(f);
    ExpectValidTable(f);
    bits -= std::log2(f[c] / double(kTotal));
    mm.Update(c);
  }
  return bits;
}

TEST(MatchModelTest, RepetitionBecomesCheap) {
  std::mt19937_64 rng(1);
  std::string block(2000, '\0');
  for (auto& c : block) c = static_cast<char>(rng());
  const double once = CostBits(block);
  const double thrice = CostBits(block + block + block);
  EXPECT_NEAR(once / block.size(), 8.0, 0.05);  // nothing to match: no harm
  EXPECT_LT(thrice - once, 0.1 * once) << "the two repeats cost " << thrice - once << " bits";
}

// The flat-row shortcut (media samples) gives exactly the general path's table,
// over text with repeats and over noise, whatever the match statistics are.
TEST(MatchModelTest, FlatShortcutEqualsTheGeneralPath) {
  std::mt19937 rng(3);
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    text += i % 3 ? std::string("abcabcabd").substr(0, 1 + rng() % 9)
                  : std::string(1, static_cast<char>(rng()));
  }
  MatchModel general, flat;
  int adjusted = 0;
  for (unsigned char c : text) {
    uint16_t a[256], b[256];
    for (int s = 0; s < 256; ++s) a[s] = b[s] = kTotal / 256;
    general.Adjust(a);
    flat.Adjust(b, /*flat=*/true);
    ASSERT_TRUE(std::equal(a, a + 256, b));
    adjusted += a[c] != kTotal / 256 || a[0] != kTotal / 256;
    general.Update(c);
    flat.Update(c);
  }
  EXPECT_GT(adjusted, 1000);  // the shortcut was taken, not only the no-match exit
}

TEST(MatchModelTest, SkewedTablesStayValid) {
  // A model that is confident and wrong, and every byte value, stress the
  // rescaling; CostBits checks totals and the floor of 1.
  std::string s;
  for (int r = 0; r < 50; ++r) {
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  }
  MatchModel mm;
  for (unsigned char c : s) {
    uint16_t f[256];
    for (auto& x : f) x = 1;
    f[7] = kTotal - 255;
    mm.Adjust(f);
    ExpectValidTable(f);
    mm.Update(c);
  }
}

// Guesses: what followed the match, repeated where the match runs into the
// present, one more for each of kGuessLens the match's length reaches.
TEST(MatchModelTest, GuessesContinueTheMatch) {
  auto feed = [](MatchModel& mm, const std::string& text) {
    for (unsigned char c : text) {
      uint16_t f[256];
      std::fill(f, f + 256, kTotal / 256);
      mm.Adjust(f);
      mm.Update(c);
    }
  };
  const std::string line = "2026-11-29 08:40:17 status installed libfoo:amd64 1.2-3\n";
  MatchModel mm;
  uint8_t g[8];
  feed(mm, line);
  EXPECT_EQ(mm.Guess(g, 3), 0);  // no earlier occurrence
  EXPECT_EQ(mm.length(), 0);
  // The second occurrence: a match from kMinLen bytes on.
  int fed = 0;
  for (int i = 0; i < 3; ++i) {
    const int len = MatchModel::kGuessLens[i];
    feed(mm, line.substr(fed, len - 1 - fed));
    EXPECT_EQ(mm.Guess(g, 3), i) << "a match of " << len - 1 << " bytes";
    feed(mm, line.substr(len - 1, 1));
    fed = len;
    ASSERT_EQ(mm.Guess(g, 3), i + 1) << "a match of " << len << " bytes";
    uint16_t f[256];
    std::fill(f, f + 256, kTotal / 256);
    mm.Adjust(f);  // length() is that of the match behind the last Adjust's prediction
    EXPECT_EQ(mm.predicted(), static_cast<unsigned char>(line[len]));
    EXPECT_EQ(mm.length(), len);
    EXPECT_EQ(std::string(g, g + i + 1), line.substr(len, i + 1));
  }
  EXPECT_EQ(mm.Guess(g, 2), 2);  // at most max
  EXPECT_EQ(std::string(g, g + 2), line.substr(fed, 2));
  // A run: the match ends one byte back, so the guesses repeat it.
  MatchModel run;
  feed(run, std::string(40, 'x') + "ab" + "ab" + std::string(30, 'y'));
  ASSERT_EQ(run.Guess(g, 3), 3);
  EXPECT_EQ(std::string(g, g + 3), "yyy");
}

}  // namespace
}  // namespace lmc
