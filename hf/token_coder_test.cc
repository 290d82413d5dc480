// The two-step token tables: every table totals 2^16 with no zero entry, for
// any vocabulary size and any logits (flat, extreme, random), and what the
// encoder codes the decoder reads back.
#include "hf/token_coder.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "model/quantize.h"

namespace lmc::hf {
namespace {

std::vector<int32_t> ExpTable() {  // what lmc convert writes
  return lmc::ExpTable(32, 24, ExpTableSizeToZero(32, 24));
}

// Sums to 2^16, no zero, and no entry above 2^16 - 128 (each step costs at
// least 0.002819 bits, which bounds the tokens a frame of a given size holds).
void CheckTable(const std::vector<uint32_t>& f) {
  EXPECT_EQ(std::accumulate(f.begin(), f.end(), uint64_t{0}), kTotal);
  for (uint32_t x : f) {
    ASSERT_GE(x, 1u);
    ASSERT_LE(x, kTotal - 128);
  }
}

TEST(TokenCoderTest, TablesTotalTwoToTheSixteenWithoutZeros) {
  const std::vector<int32_t> table = ExpTable();
  std::mt19937 rng(7);
  for (int v : {2, 200, 256, 257, 300, 1000, 50257}) {
    for (int kind = 0; kind < 3; ++kind) {
      std::vector<int32_t> logits(v);
      for (int32_t& l : logits) {
        l = kind == 0 ? 0 : kind == 1 ? static_cast<int32_t>(rng() % 4000) - 2000 : -(1 << 30);
      }
      if (kind == 2) logits[v / 2] = 1 << 30;  // one certain token, the rest impossible
      TokenCoder tc(table);
      tc.SetLogits(logits);
      const int pages = (v + kTokenPage - 1) / kTokenPage;
      if (pages > 1) {
        ASSERT_EQ(tc.PageTable().size(), static_cast<size_t>(pages));
        CheckTable(tc.PageTable());
      } else {
        EXPECT_TRUE(tc.PageTable().empty());
      }
      for (int p = 0; p < pages; ++p) {
        const std::vector<uint32_t>& f = tc.InPageTable(p);
        ASSERT_EQ(f.size(), static_cast<size_t>(std::min(kTokenPage, v - p * kTokenPage)));
        if (f.size() > 1) CheckTable(f);
      }
      if (kind == 2 && pages > 1) {  // the certain token's page: capped
        EXPECT_EQ(tc.PageTable()[(v / 2) >> kTokenPageBits], std::min<uint32_t>(kTotal - (pages - 1), kTotal - 128));
      }
    }
  }
}

TEST(TokenCoderTest, LikelierTokensGetMoreOfTheRange) {
  const std::vector<int32_t> table = ExpTable();
  std::vector<int32_t> logits(1000, 0);
  logits[700] = 200;  // e^(200/32) ~ 500 times as likely as the rest
  TokenCoder tc(table);
  tc.SetLogits(logits);
  const double p700 = tc.PageTable()[2] / double(kTotal) * tc.InPageTable(2)[700 - 512] / kTotal;
  const double p3 = tc.PageTable()[0] / double(kTotal) * tc.InPageTable(0)[3] / kTotal;
  EXPECT_NEAR(p700 / p3, std::exp(200 / 32.0), std::exp(200 / 32.0) * 0.03);
}

TEST(TokenCoderTest, DecoderReadsWhatTheEncoderWrote) {
  const std::vector<int32_t> table = ExpTable();
  for (int v : {2, 256, 300, 50257}) {
    std::mt19937 rng(v);
    std::vector<std::vector<int32_t>> steps(400, std::vector<int32_t>(v));
    std::vector<uint32_t> tokens(steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      const int spread = i % 3 == 0 ? 30000 : 300;
      for (int32_t& l : steps[i]) l = static_cast<int32_t>(rng() % spread) - spread / 2;
      tokens[i] = rng() % v;  // likely and unlikely alike
    }
    TokenCoder enc_tc(table), dec_tc(table);
    RangeEncoder enc;
    for (size_t i = 0; i < steps.size(); ++i) {
      enc_tc.SetLogits(steps[i]);
      enc_tc.Encode(tokens[i], &enc);
    }
    const std::string bytes = enc.Finish();
    RangeDecoder dec({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    for (size_t i = 0; i < steps.size(); ++i) {
      dec_tc.SetLogits(steps[i]);
      ASSERT_EQ(dec_tc.Decode(&dec), tokens[i]) << "vocabulary " << v << " step " << i;
    }
    EXPECT_EQ(dec.BytesRead(), bytes.size());
  }
}

}  // namespace
}  // namespace lmc::hf
