// Tiny random GPT-2 and Llama-family checkpoints, written by the test, are
// converted to the exact integer inference (lmc convert) and code text: every
// round trip exact whatever the threads and chunk sizes, the integer model
// close to its float self, the tokenizer inside the fingerprint, and every
// wrong model, damaged frame or bad option a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <tuple>

#include "core/frame.h"
#include "core/varint.h"
#include "hf/checkpoint.h"
#include "hf/convert.h"
#include "hf/hf_int_model.h"
#include "hf/hf_session.h"
#include "hf/tiny_checkpoint.h"
#include "hf/token_codec.h"
#include "tokenizer/test_tokenizer.h"
#include "model/random_model.h"

namespace lmc::hf {
namespace {

using nlohmann::json;

constexpr char kText[] =
    "The theory of the thing is that there are no real answers in the end; the rest is "
    "interpretation. Then the rain started, and the three of them ran in. ";

std::string TokenizerJson(const std::vector<std::pair<std::string, std::string>>& merges) {
  return tokenizer::testing::ByteLevelTokenizerJson(merges);
}

const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"t", "h"}, {"h", "e"}, {"th", "e"}, {" ", "t"}, {" t", "he"}, {"e", "r"}, {"i", "n"}, {" ", "a"},
    {"a", "n"}, {"o", "n"}, {"r", "e"}, {"e", "s"}, {"in", "g"}, {" ", "th"}, {"e", "n"}};

// Model vocabulary 300 > the tokenizer's 270: two pages, ids no text produces.
const testing::TinyShape kShape{.vocab = 300, .d = 32, .ff = 64, .positions = 64, .layers = 2,
                                .scale = 0.125f, .unit_norms = true};

struct Converted {
  std::string dir;
  Checkpoint ck;
  std::unique_ptr<HfIntModel> model;
};

Converted Make(json config, const testing::Tensors& tensors, const std::string& tokenizer,
               int context = 24) {
  Converted c{testing::Write(config, tensors), {}, nullptr};
  testing::WriteFile(std::filesystem::path(c.dir) / "tokenizer.json", tokenizer);
  absl::StatusOr<Checkpoint> ck = Checkpoint::Load(c.dir);
  EXPECT_TRUE(ck.ok()) << ck.status();
  c.ck = *std::move(ck);
  absl::StatusOr<std::string> file =
      Convert(c.ck, tokenizer, {.context = context, .calibration = std::string(kText) + kText});
  EXPECT_TRUE(file.ok()) << file.status();
  absl::StatusOr<std::unique_ptr<HfIntModel>> m = HfIntModel::FromBytes(*std::move(file));
  EXPECT_TRUE(m.ok()) << m.status();
  c.model = *std::move(m);
  return c;
}

Converted Gpt2() {
  json config = testing::Gpt2Config(kShape);
  config["bos_token_id"] = 299;  // GPT-2 feeds <|endoftext|> first
  return Make(config, testing::Gpt2Tensors(kShape), TokenizerJson(kMerges));
}

Converted Llama(const std::string& arch = "LlamaForCausalLM", bool bias = false) {
  return Make(testing::LlamaConfig(kShape, arch), testing::LlamaTensors(kShape, false, bias),
              TokenizerJson(kMerges));
}

std::vector<std::string> Inputs() {
  std::string text;
  for (int i = 0; i < 6; ++i) text += kText;  // several chunks of 23-24 tokens
  std::mt19937 rng(3);
  std::string binary(700, '\0');
  for (char& ch : binary) ch = static_cast<char>(rng());
  return {"", "a", "the", text, binary, std::string(300, ' '), "caf\xc3\xa9 \xe2\x82\xac \xff\xfe"};
}

void ExpectRoundTrips(const HfIntModel& m) {
  for (const std::string& in : Inputs()) {
    absl::StatusOr<std::string> frame = CompressTokens(m, in, {.threads = 1});
    ASSERT_TRUE(frame.ok()) << frame.status();
    for (int threads : {1, 3}) {
      absl::StatusOr<std::string> again =
          CompressTokens(m, in, {.threads = threads, .lockstep = threads == 3 ? 1 : 16});
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *frame) << "threads change the bytes";
      TokenCodecOptions tight;  // a cache budget that lets one chunk step at a time
      tight.threads = threads;
      tight.cache_budget_bytes = 1;
      absl::StatusOr<std::string> one = CompressTokens(m, in, tight);
      ASSERT_TRUE(one.ok());
      EXPECT_EQ(*one, *frame) << "the cache budget changes the bytes";
      absl::StatusOr<std::string> back = DecompressTokens(m, *frame, {.threads = threads});
      ASSERT_TRUE(back.ok()) << back.status();
      ASSERT_EQ(*back, in);
    }
    for (int chunk : {1, 5}) {
      absl::StatusOr<std::string> f = CompressTokens(m, in, {.chunk_tokens = chunk, .lockstep = 3});
      ASSERT_TRUE(f.ok());
      absl::StatusOr<std::string> back = DecompressTokens(m, *f, {});
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, in);
    }
  }
}

TEST(HfIntTest, Gpt2RoundTripsExactly) {
  Converted c = Gpt2();
  ASSERT_NE(c.model, nullptr);
  EXPECT_TRUE(c.model->config().gpt2);
  EXPECT_EQ(c.model->config().context, 24);
  EXPECT_EQ(c.model->config().bos, 299);
  EXPECT_EQ(c.model->config().chunk_tokens(), 23);
  ExpectRoundTrips(*c.model);
}

TEST(HfIntTest, LlamaFamilyRoundTripsExactly) {
  for (const auto& [arch, bias] : {std::pair<std::string, bool>{"LlamaForCausalLM", false},
                                   {"Qwen2ForCausalLM", true}}) {
    Converted c = Llama(arch, bias);
    ASSERT_NE(c.model, nullptr);
    EXPECT_FALSE(c.model->config().gpt2);
    EXPECT_EQ(c.model->config().n_kv_heads, 2);
    EXPECT_EQ(c.model->config().bos, -1);  // the first token of a chunk is coded flat
    EXPECT_EQ(c.model->config().chunk_tokens(), 24);
    ExpectRoundTrips(*c.model);
  }
}

TEST(HfIntTest, IntegerModelStaysCloseToItsFloatSelf) {
  for (Converted* c : {new Converted(Gpt2()), new Converted(Llama())}) {
    std::unique_ptr<Converted> owner(c);
    std::string text;
    for (int i = 0; i < 3; ++i) text += kText;
    const std::vector<uint32_t> ids = c->model->tokenizer().Encode(text);
    absl::StatusOr<ConversionQuality> q = MeasureConversion(c->ck, *c->model, ids);
    ASSERT_TRUE(q.ok()) << q.status();
    const double f = q->float_bits / q->tokens, i = q->integer_bits / q->tokens;
    std::printf("%s: %lld tokens, float %.4f bits/token, integer %.4f bits/token (%+.2f%%), KL %.5f\n",
                c->model->config().source.c_str(), static_cast<long long>(q->tokens), f, i,
                100 * (i / f - 1), q->kl_bits / q->tokens);
    EXPECT_GT(q->tokens, 50);
    EXPECT_LT(std::abs(i / f - 1), 0.03) << "float " << f << " integer " << i;
    EXPECT_LT(q->kl_bits / q->tokens, 0.01);
  }
}

TEST(HfIntTest, BatchedStepsGiveTheLogitsOfSingleSteps) {
  for (Converted* c : {new Converted(Gpt2()), new Converted(Llama())}) {
    std::unique_ptr<Converted> owner(c);
    const HfIntModel& m = *c->model;
    const std::vector<uint32_t> ids = m.tokenizer().Encode(kText);
    // Three sessions at different positions step together, against each alone.
    std::vector<std::unique_ptr<HfSession>> together, alone;
    for (int i = 0; i < 3; ++i) {
      together.push_back(std::make_unique<HfSession>(m));
      alone.push_back(std::make_unique<HfSession>(m));
    }
    std::vector<int32_t> single;
    for (int step = 0; step < 12; ++step) {
      std::vector<HfSession*> s;
      std::vector<uint32_t> tok;
      std::vector<int32_t*> out;
      // Session i joins at step 4i; session 1 takes two adjacent rows (two
      // positions at once, as a compressor feeds them) on odd steps.
      std::vector<int> owner;
      std::vector<std::vector<int32_t>> rows;
      for (int i = 0; i < 3; ++i) {
        if (step < 4 * i) continue;
        for (int twice = 0; twice < (i == 1 && step % 2 ? 2 : 1); ++twice) {
          s.push_back(together[i].get());
          tok.push_back(ids[(step * 7 + i + twice) % ids.size()]);
          owner.push_back(i);
        }
      }
      rows.assign(s.size(), std::vector<int32_t>(m.config().vocab_size));
      for (auto& r : rows) out.push_back(r.data());
      HfSession::FeedBatch(s, tok, out);
      for (size_t k = 0; k < s.size(); ++k) {
        alone[owner[k]]->Feed(tok[k], &single);
        ASSERT_EQ(single, rows[k]) << "session " << owner[k] << " step " << step;
      }
    }
  }
}

// Large language models feed their linear layers a few channels far larger
// than the rest (outlier features, with small weights reading them). Here two
// channels of every norm's output are made 30 times larger and the weights
// that read them 30 times smaller: the float model computes the same function,
// but one int8 step per tensor spends the range on the outliers. Per-channel
// smoothing keeps the conversion as precise as without outliers.
TEST(HfIntTest, SmoothingKeepsOutlierChannelsPrecise) {
  json config = testing::Gpt2Config(kShape);
  config["bos_token_id"] = 299;
  testing::Tensors t = testing::Gpt2Tensors(kShape);
  for (int l = 0; l < kShape.layers; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    for (const auto& [norm, reader, width] :
         {std::tuple<std::string, std::string, int>{"ln_1", "attn.c_attn", 3 * kShape.d},
          {"ln_2", "mlp.c_fc", kShape.ff}}) {
      for (const int ch : {3, 17}) {
        t.at(h + norm + ".weight").v[ch] *= 30;
        t.at(h + norm + ".bias").v[ch] *= 30;
        for (int o = 0; o < width; ++o) t.at(h + reader + ".weight").v[ch * width + o] /= 30;  // Conv1D [in][out]
      }
    }
  }
  const std::string dir = testing::Write(config, t);
  absl::StatusOr<Checkpoint> ck = Checkpoint::Load(dir);
  ASSERT_TRUE(ck.ok()) << ck.status();
  std::string text;
  for (int i = 0; i < 3; ++i) text += kText;
  double kl[2];
  for (const bool smooth : {false, true}) {
    ConvertOptions opt;
    opt.context = 24;
    opt.calibration = text;
    opt.smooth = smooth;
    absl::StatusOr<std::string> file = Convert(*ck, TokenizerJson(kMerges), opt);
    ASSERT_TRUE(file.ok()) << file.status();
    absl::StatusOr<std::unique_ptr<HfIntModel>> m = HfIntModel::FromBytes(*std::move(file));
    ASSERT_TRUE(m.ok()) << m.status();
    absl::StatusOr<ConversionQuality> q =
        MeasureConversion(*ck, **m, (*m)->tokenizer().Encode(text));
    ASSERT_TRUE(q.ok());
    kl[smooth] = q->kl_bits / q->tokens;
    std::printf("outlier channels, smoothing %s: float %.4f, integer %.4f bits/token, KL %.5f\n",
                smooth ? "on " : "off", q->float_bits / q->tokens, q->integer_bits / q->tokens,
                kl[smooth]);
    absl::StatusOr<std::string> frame = CompressTokens(**m, text, {});
    ASSERT_TRUE(frame.ok());
    absl::StatusOr<std::string> back = DecompressTokens(**m, *frame, {});
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
  }
  EXPECT_LT(kl[1], kl[0]);
  EXPECT_LT(kl[1], 0.01);
}

TEST(HfIntTest, CompressedSizeIsWhatTheModelPredicts) {
  Converted c = Gpt2();
  std::string text;
  for (int i = 0; i < 6; ++i) text += kText;
  const std::vector<uint32_t> ids = c.model->tokenizer().Encode(text);
  absl::StatusOr<ConversionQuality> q = MeasureConversion(c.ck, *c.model, ids);
  absl::StatusOr<std::string> frame = CompressTokens(*c.model, text, {});
  ASSERT_TRUE(q.ok() && frame.ok());
  absl::StatusOr<ParsedFrame> p = ParseFrame(*frame);
  ASSERT_TRUE(p.ok());
  size_t payload = 0;
  for (const auto& s : p->payloads) payload += s.size();
  // The coder spends the tables' information plus at most a few bytes per chunk.
  EXPECT_NEAR(payload * 8.0, q->integer_bits, 8.0 * 5 * p->payloads.size());
}

TEST(HfIntTest, FingerprintCoversTheTokenizer) {
  Converted a = Gpt2();
  auto merges = kMerges;
  merges.push_back({"o", "f"});
  json config = testing::Gpt2Config(kShape);
  config["bos_token_id"] = 299;
  Converted b = Make(config, testing::Gpt2Tensors(kShape), TokenizerJson(merges));
  EXPECT_NE(a.model->fingerprint(), b.model->fingerprint());
  absl::StatusOr<std::string> frame = CompressTokens(*a.model, kText, {});
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(DecompressTokens(*b.model, *frame, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(HfIntTest, DamageIsAClearError) {
  Converted c = Gpt2();
  Converted other = Llama();
  std::string text;
  for (int i = 0; i < 4; ++i) text += kText;
  absl::StatusOr<std::string> frame = CompressTokens(*c.model, text, {});
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(DecompressTokens(*other.model, *frame, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  for (size_t cut : {size_t{0}, size_t{3}, frame->size() / 2, frame->size() - 1}) {
    EXPECT_EQ(DecompressTokens(*c.model, frame->substr(0, cut), {}).status().code(),
              absl::StatusCode::kDataLoss)
        << "cut at " << cut;
  }
  absl::StatusOr<ParsedFrame> p = ParseFrame(*frame);
  ASSERT_TRUE(p.ok());
  std::mt19937 rng(5);
  int caught = 0;
  for (int trial = 0; trial < 40; ++trial) {  // flips in the payload: never garbage
    std::string bad = *frame;
    const size_t at = p->header_bytes + rng() % (bad.size() - p->header_bytes);
    bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
    absl::StatusOr<std::string> out = DecompressTokens(*c.model, bad, {});
    // A chunk's first byte and the low bits of its flush carry no information
    // (core/range_coder.h), so a flip there decodes to the original itself.
    if (out.ok()) {
      EXPECT_EQ(*out, text) << "flip at " << at;
    } else {
      EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss) << "flip at " << at;
      ++caught;
    }
  }
  EXPECT_GT(caught, 20);
  EXPECT_EQ(CompressTokens(*c.model, text, {.chunk_tokens = 24}).status().code(),
            absl::StatusCode::kInvalidArgument);  // the BOS takes a position
  {  // A well-formed frame that claims more tokens than bytes: refused unread.
    FrameHeader h;
    h.front_end = FrontEnd::kTokens;
    PutVarint(&h.front_end_params, 100);
    h.model = c.model->fingerprint();
    h.original_bytes = 50;
    h.chunk_tokens = 20;
    for (int i = 0; i < 5; ++i) h.chunks.push_back({20, 5});
    const std::string f = WriteFrame(h, std::vector<std::string>(5, std::string(5, '\0')));
    absl::StatusOr<std::string> out = DecompressTokens(*c.model, f, {});
    EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss) << out.status();
  }
}

TEST(HfIntTest, CheckStopsTheWork) {
  Converted c = Gpt2();
  std::string text;
  for (int i = 0; i < 4; ++i) text += kText;
  int calls = 0;
  TokenCodecOptions opt;
  opt.check = [&] {
    return ++calls > 3 ? absl::DeadlineExceededError("deadline exceeded") : absl::OkStatus();
  };
  opt.threads = 1;
  EXPECT_EQ(CompressTokens(*c.model, text, opt).status().code(), absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<std::string> frame = CompressTokens(*c.model, text, {});
  ASSERT_TRUE(frame.ok());
  calls = 0;
  EXPECT_EQ(DecompressTokens(*c.model, *frame, opt).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(HfIntTest, EngineRefusesTokenFrames) {
  // A frame of a converted model sent to the byte engine's decoder (for
  // example by a client that picked the wrong model) gets a clear code.
  Converted c = Gpt2();
  absl::StatusOr<std::string> frame = CompressTokens(*c.model, kText, {});
  ASSERT_TRUE(frame.ok());
  absl::StatusOr<ParsedFrame> p = ParseFrame(*frame);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->header.front_end, FrontEnd::kTokens);
  EXPECT_EQ(FrameTokens(p->header), c.model->tokenizer().Encode(kText).size());
}

TEST(HfIntTest, ConvertRefusesWhatDoesNotFit) {
  Converted c = Gpt2();
  auto many = kMerges;
  for (int i = 0; i < 40; ++i) many.push_back({std::string(1, 'a' + i % 26), std::string(1, 'A' + i / 26 + i % 7)});
  // 310 tokens do not fit a 300-token model.
  EXPECT_EQ(Convert(c.ck, TokenizerJson(many), {}).status().code(), absl::StatusCode::kInvalidArgument);
  ConvertOptions one_position;
  one_position.context = 1;
  EXPECT_EQ(Convert(c.ck, TokenizerJson(kMerges), one_position).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Convert(c.ck, "{}", {}).status().code(), absl::StatusCode::kInvalidArgument);
  {  // A weight that is not a number.
    json config = testing::Gpt2Config(kShape);
    testing::Tensors t = testing::Gpt2Tensors(kShape);
    t.at("h.1.mlp.c_fc.weight").v[7] = std::nanf("");
    absl::StatusOr<Checkpoint> bad = Checkpoint::Load(testing::Write(config, t));
    ASSERT_TRUE(bad.ok()) << bad.status();
    EXPECT_EQ(Convert(*bad, TokenizerJson(kMerges), {}).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(HfIntTest, DamagedModelFilesAreRefused) {
  Converted c = Gpt2();
  ConvertOptions opt;
  opt.context = 24;
  absl::StatusOr<std::string> file = Convert(c.ck, TokenizerJson(kMerges), opt);
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(HfIntModel::IsHfIntFile(*file));
  EXPECT_FALSE(HfIntModel::IsHfIntFile(MakeRandomModel(TinyConfig(), 1)));  // an lmc byte model
  EXPECT_FALSE(HfIntModel::IsHfIntFile(file->substr(0, 7)));
  EXPECT_FALSE(HfIntModel::FromBytes(file->substr(0, file->size() - 1)).ok());
  EXPECT_FALSE(HfIntModel::FromBytes(file->substr(0, 100)).ok());
  // A config the loader's bounds refuse.
  std::string bad = *file;
  const size_t at = bad.find("\\\"context\\\": 24");
  ASSERT_NE(at, std::string::npos);
  bad.replace(at, 15, "\\\"context\\\": 0 ");
  EXPECT_EQ(HfIntModel::FromBytes(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lmc::hf
