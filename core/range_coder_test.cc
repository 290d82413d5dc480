#include "core/range_coder.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace lmc {
namespace {

// A random table over 256 symbols, every frequency >= 1, total kTotal.
std::vector<uint32_t> RandomTable(std::mt19937_64& rng, double skew) {
  std::vector<double> w(256);
  std::exponential_distribution<double> e(1.0);
  for (auto& x : w) x = std::pow(e(rng), skew);
  double sum = 0;
  for (double x : w) sum += x;
  std::vector<uint32_t> f(256);
  uint32_t total = 0;
  for (int i = 0; i < 256; ++i) total += f[i] = 1 + static_cast<uint32_t>(w[i] / sum * (kTotal - 256));
  f[rng() % 256] += kTotal - total;
  return f;
}

TEST(RangeCoderTest, RoundTripsRandomTablesAndSymbols) {
  for (double skew : {0.5, 1.0, 4.0, 16.0}) {
    std::mt19937_64 rng(42);
    std::vector<std::vector<uint32_t>> tables;
    std::vector<int> syms;
    RangeEncoder enc;
    for (int i = 0; i < 20000; ++i) {
      tables.push_back(RandomTable(rng, skew));
      const auto& f = tables.back();
      int s = rng() % 4 == 0 ? static_cast<int>(rng() % 256)
                             : static_cast<int>(std::max_element(f.begin(), f.end()) - f.begin());
      syms.push_back(s);
      uint32_t cum = 0;
      for (int j = 0; j < s; ++j) cum += f[j];
      enc.Encode(cum, f[s]);
    }
    std::string out = enc.Finish();
    RangeDecoder dec({reinterpret_cast<const uint8_t*>(out.data()), out.size()});
    for (size_t i = 0; i < syms.size(); ++i) {
      const auto& f = tables[i];
      uint32_t v = dec.Target(), cum = 0;
      int s = 0;
      while (cum + f[s] <= v) cum += f[s++];
      ASSERT_EQ(s, syms[i]) << "skew " << skew << " symbol " << i;
      dec.Consume(cum, f[s]);
    }
    EXPECT_EQ(dec.BytesRead(), out.size()) << "skew " << skew;
  }
}

TEST(RangeCoderTest, CostMatchesInformationContent) {
  // 100k symbols at p = 1/2 must cost about 100k bits.
  RangeEncoder enc;
  for (int i = 0; i < 100000; ++i) enc.Encode(i % 2 ? kTotal / 2 : 0, kTotal / 2);
  std::string out = enc.Finish();
  EXPECT_NEAR(out.size(), 12500, 20);
}

TEST(RangeCoderTest, GarbageInputNeverFails) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> junk(1000);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  RangeDecoder dec(junk);
  std::vector<uint32_t> f(256, kTotal / 256);
  for (int i = 0; i < 5000; ++i) {  // reads past the end as zeros
    uint32_t v = dec.Target();
    ASSERT_LT(v, kTotal);
    dec.Consume(v / 256 * 256, f[0]);
  }
  EXPECT_GT(dec.BytesRead(), junk.size());
}

}  // namespace
}  // namespace lmc
