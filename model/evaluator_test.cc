// Exactness: the frequency tables of a chunk are bit-identical however it is
// evaluated: alone or among random companions (batches of 2, 3, 8, 17, 64), as
// one full forward pass or token by token through the KV cache, in blocks of
// odd sizes, on 1 or 2 threads, with a helper thread splitting the steps or
// without.
#include "model/evaluator.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "model/kernels.h"
#include "model/random_model.h"

namespace lmc {
namespace {

std::unique_ptr<IntModel> Model(const ModelConfig& c, uint64_t seed = 1) {
  auto m = IntModel::FromBytes(MakeRandomModel(c, seed));
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(m).value();
}

std::vector<int32_t> Inputs(const std::string& text) {
  std::vector<int32_t> in = {ModelConfig::kBos};
  for (size_t i = 0; i + 1 < text.size(); ++i) in.push_back(static_cast<uint8_t>(text[i]));
  return in;
}

std::string RandomText(std::mt19937_64& rng, size_t n) {
  static const std::string words[] = {"the ", "whale ", "{\"id\": ", "1234", "\n", "ship ", "Ahab "};
  std::string s;
  while (s.size() < n) s += rng() % 5 ? words[rng() % 7] : std::string(1, char(rng()));
  s.resize(n);
  return s;
}

// Frequencies of `text` evaluated in blocks of `block` tokens, alongside
// `companions` other streams fed random text in blocks of random sizes.
std::vector<uint16_t> Evaluate(const IntModel& m, const std::string& text, int block,
                               int companions, uint64_t seed, HelperThread* helper = nullptr) {
  std::mt19937_64 rng(seed);
  BatchEvaluator ev(m);
  ev.set_helper(helper);
  std::vector<int32_t> in = Inputs(text);
  StreamState target(m);
  std::vector<StreamState> others(companions, StreamState(m));
  std::vector<std::vector<int32_t>> other_in(companions);
  std::vector<uint16_t> result, freqs;
  const int position = static_cast<int>(rng() % (companions + 1));
  for (size_t done = 0; done < in.size(); done += block) {
    const size_t n = std::min<size_t>(block, in.size() - done);
    std::vector<StreamInput> batch;
    for (int c = 0; c < companions; ++c) {
      other_in[c].resize(1 + rng() % 40);
      for (auto& t : other_in[c]) t = static_cast<int32_t>(rng() % 257);
      batch.push_back({&others[c], other_in[c]});
    }
    batch.insert(batch.begin() + position, {&target, std::span<const int32_t>(in).subspan(done, n)});
    ev.Evaluate(batch, &freqs);
    size_t row = 0;
    for (int b = 0; b < position; ++b) row += batch[b].tokens.size();
    result.insert(result.end(), freqs.begin() + row * 256, freqs.begin() + (row + n) * 256);
  }
  return result;
}

TEST(EvaluatorTest, TablesAreValid) {
  auto m = Model(TinyConfig());
  std::mt19937_64 rng(1);
  auto f = Evaluate(*m, RandomText(rng, 300), 300, 0, 1);
  ASSERT_EQ(f.size(), 300u * 256);
  for (size_t r = 0; r < 300; ++r) {
    uint32_t total = 0;
    for (int s = 0; s < 256; ++s) {
      ASSERT_GE(f[r * 256 + s], 1);
      total += f[r * 256 + s];
    }
    ASSERT_EQ(total, 65536u) << "row " << r;
  }
}

class ExactnessTest : public ::testing::TestWithParam<ModelConfig> {};

TEST_P(ExactnessTest, BatchCompositionAndBlockingDoNotMatter) {
  auto m = Model(GetParam());
  std::mt19937_64 rng(5);
  // Longer than the attention window, so the ring buffer wraps.
  const std::string text = RandomText(rng, 3 * GetParam().window + 17);
  const auto reference = Evaluate(*m, text, static_cast<int>(text.size()), 0, 1);
  struct Case {
    int block, companions;
  } cases[] = {{1, 0}, {1, 2}, {7, 3}, {64, 8}, {1, 17}, {33, 64}, {5, 1}};
  for (const Case& c : cases) {
    auto got = Evaluate(*m, text, c.block, c.companions, 100 + c.block * 7 + c.companions);
    ASSERT_EQ(got.size(), reference.size());
    size_t first_diff = 0;
    while (first_diff < got.size() && got[first_diff] == reference[first_diff]) ++first_diff;
    EXPECT_EQ(first_diff, got.size())
        << "block " << c.block << " with " << c.companions << " companions differs at row "
        << first_diff / 256;
  }
}

// Decoding one chunk splits each step's matrix products and attention heads
// with a helper thread (steps of up to kHelpedRows rows; larger ones run on
// one thread, the helper idle).
TEST_P(ExactnessTest, AHelperThreadDoesNotMatter) {
  auto m = Model(GetParam());
  std::mt19937_64 rng(13);
  const std::string text = RandomText(rng, 2 * GetParam().window + 29);
  const auto reference = Evaluate(*m, text, static_cast<int>(text.size()), 0, 1);
  HelperThread helper;
  struct Case {
    int block, companions;
  } cases[] = {{1, 0}, {1, 1}, {2, 1}, {1, 3}, {3, 2}, {64, 0}};
  for (const Case& c : cases) {
    EXPECT_EQ(Evaluate(*m, text, c.block, c.companions, 200 + c.block, &helper), reference)
        << "block " << c.block << " with " << c.companions << " companions";
  }
}

// Speculative decoding feeds the true input and up to three guesses, keeps
// the rows whose guesses were right and rewinds the rest: the kept rows are
// the reference's, with or without a helper, guesses right or wrong.
TEST_P(ExactnessTest, RewoundGuessesLeaveNoTrace) {
  auto m = Model(GetParam());
  std::mt19937_64 rng(17);
  const std::string text = RandomText(rng, 2 * GetParam().window + 41);
  const std::vector<int32_t> in = Inputs(text);
  const auto reference = Evaluate(*m, text, static_cast<int>(text.size()), 0, 1);
  for (bool with_helper : {false, true}) {
    HelperThread helper;
    BatchEvaluator ev(*m);
    if (with_helper) ev.set_helper(&helper);
    StreamState s(*m);
    std::vector<uint16_t> got, freqs;
    size_t pos = 0, guessed_right = 0, guessed_wrong = 0;
    while (pos < in.size()) {
      // The true input, then guesses of the next inputs: each right with
      // probability 3/4.
      std::vector<int32_t> rows = {in[pos]};
      const size_t extra = std::min<size_t>(rng() % 4, in.size() - pos - 1);
      for (size_t j = 1; j <= extra; ++j) {
        rows.push_back(rng() % 4 ? in[pos + j] : static_cast<int32_t>(rng() % 256));
      }
      s.Checkpoint(static_cast<int>(rows.size()));
      StreamInput input{&s, rows};
      ev.Evaluate({&input, 1}, &freqs);
      size_t keep = 1;
      while (keep < rows.size() && rows[keep] == in[pos + keep]) ++keep;
      guessed_right += keep - 1;
      guessed_wrong += keep < rows.size();
      got.insert(got.end(), freqs.begin(), freqs.begin() + keep * 256);
      s.Rewind(static_cast<int64_t>(pos + keep));
      ASSERT_EQ(s.position(), static_cast<int64_t>(pos + keep));
      pos += keep;
    }
    EXPECT_GT(guessed_right, 20u);
    EXPECT_GT(guessed_wrong, 10u);
    EXPECT_EQ(got, reference) << (with_helper ? "with" : "without") << " a helper";
  }
}

TEST_P(ExactnessTest, ThreadsDoNotMatter) {
  auto m = Model(GetParam());
  std::mt19937_64 rng(9);
  const std::string text = RandomText(rng, GetParam().window + 50);
  const auto reference = Evaluate(*m, text, 1000, 0, 1);
  std::vector<std::vector<uint16_t>> results(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] { results[t] = Evaluate(*m, text, 3 + t * 10, 2 + t, 50 + t); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(results[0], reference);
  EXPECT_EQ(results[1], reference);
}

ModelConfig Medium() {
  ModelConfig c;  // the default model's shape
  c.window = 64;  // short window so the test wraps it quickly
  return c;
}

INSTANTIATE_TEST_SUITE_P(Shapes, ExactnessTest, ::testing::Values(TinyConfig(), Medium()));

// A stream that joins late with an empty cache gives the tables of a stream fed
// from the start once JoinWarmUp positions have passed.
TEST_P(ExactnessTest, LateJoinerMatchesAfterWarmUp) {
  auto m = Model(GetParam());
  std::mt19937_64 rng(11);
  const std::string text = RandomText(rng, 900);
  const std::vector<int32_t> in = Inputs(text);
  const std::vector<uint16_t> full = Evaluate(*m, text, 900, 0, 1);
  const int64_t warm = StreamState::JoinWarmUp(m->config());
  for (int64_t start : {int64_t{1}, int64_t{37}, int64_t{300}}) {
    if (start + warm >= static_cast<int64_t>(in.size())) continue;
    StreamState late(*m, start);
    BatchEvaluator ev(*m);
    std::vector<uint16_t> freqs;
    StreamInput input{&late, std::span<const int32_t>(in).subspan(start)};
    ev.Evaluate({&input, 1}, &freqs);
    const size_t from = static_cast<size_t>(start + warm);
    EXPECT_TRUE(std::equal(freqs.begin() + (from - start) * 256, freqs.end(),
                           full.begin() + from * 256))
        << "joined at " << start;
  }
}

TEST(EvaluatorTest, FrequenciesFromLogitsMatchTheFormula) {
  // Tables with entries up to 2^24 (the model's limit) and logits spread so
  // that many symbols fall inside the table: each frequency is 1 plus
  // floor(e * (2^16 - 256) / sum e), the rest to the first most likely one.
  // The AVX-512 path where the CPU has it, and the portable loop.
  std::mt19937_64 rng(11);
  for (int round = 0; round < 300; ++round) {
    const int size = 2 + static_cast<int>(rng() % 4096);
    const int top_bits = 1 + static_cast<int>(rng() % 24);
    std::vector<int32_t> table(size);
    for (int i = 0; i < size; ++i) {
      table[i] = static_cast<int32_t>(std::max<int64_t>(
          i == 0 ? 1 : 0, std::llround(std::ldexp(std::exp(-i / (1.0 + rng() % 512)), top_bits))));
    }
    std::vector<int64_t> logits(256);
    const int64_t spread = 1 + static_cast<int64_t>(rng() % (2 * size));
    for (auto& l : logits) l = static_cast<int64_t>(rng() % spread) - spread / 2;
    uint16_t f[256], portable[256];
    FrequenciesFromLogits(logits.data(), table, f);
    kernels::portable::FrequenciesFromLogits(logits.data(), table.data(), size, portable);
    const int64_t mx = *std::max_element(logits.begin(), logits.end());
    const int argmax = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    int64_t e[256], sum = 0;
    for (int o = 0; o < 256; ++o) {
      e[o] = mx - logits[o] < size ? table[mx - logits[o]] : 0;
      sum += e[o];
    }
    uint32_t total = 0;
    for (int o = 0; o < 256; ++o) total += 1 + static_cast<uint32_t>(e[o] * (65536 - 256) / sum);
    for (int o = 0; o < 256; ++o) {
      const int64_t want = 1 + e[o] * (65536 - 256) / sum + (o == argmax ? 65536 - total : 0);
      ASSERT_EQ(f[o], want) << "round " << round << " symbol " << o;
      ASSERT_EQ(portable[o], want) << "round " << round << " symbol " << o << ", portable";
    }
  }
}

TEST(EvaluatorTest, FrequenciesFromLogitsExtremes) {
  ModelConfig c;
  std::vector<int32_t> table(c.exp_table_size);
  for (int i = 0; i < c.exp_table_size; ++i) table[i] = static_cast<int32_t>(std::llround(std::ldexp(std::exp(-i / 256.0), 20)));
  std::vector<int64_t> logits(256, -(int64_t{1} << 30));
  logits[65] = int64_t{1} << 30;
  uint16_t f[256];
  FrequenciesFromLogits(logits.data(), table, f);
  uint32_t total = 0;
  for (int s = 0; s < 256; ++s) {
    total += f[s];
    EXPECT_GE(f[s], 1);
  }
  EXPECT_EQ(total, 65536u);
  EXPECT_EQ(f[65], 65536 - 255);
}

}  // namespace
}  // namespace lmc
