// The LibTorch backend computes the kernels' logits bit for bit: on tiny
// random GPT-2, Llama and Qwen2 models, for groups fed one or many positions
// per chunk, subsets of chunks and chunks at different positions, and so the
// frames it makes are the kernels' frames. On a CUDA build with a GPU the same
// checks run on the device too (scripts/device-check.sh).
#include "hf/torch_backend.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>
#include <string>
#include <vector>

#include "hf/tiny_checkpoint.h"
#include "hf/token_codec.h"

namespace lmc::hf {
namespace {

std::unique_ptr<HfIntModel> Load(absl::StatusOr<std::string> file) {
  EXPECT_TRUE(file.ok()) << file.status();
  absl::StatusOr<std::unique_ptr<HfIntModel>> m =
      HfIntModel::FromBytes(*std::move(file));
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

std::vector<std::unique_ptr<HfIntModel>> Models() {
  std::vector<std::unique_ptr<HfIntModel>> m;
  m.push_back(Load(testing::TinyConvertedGpt2()));
  m.push_back(Load(testing::TinyConvertedLlama()));
  m.push_back(
      Load(testing::TinyConvertedLlama("Qwen2ForCausalLM", /*bias=*/true)));
  return m;
}

std::vector<std::string> Devices() {
  std::vector<std::string> d = {"cpu"};
  if (TorchBackend::BuiltWithCuda() && torch::cuda::is_available())
    d.push_back("cuda");
  return d;
}

// One Feed: rows of (chunk, token).
struct Step {
  std::vector<uint32_t> chunks, tokens;
};

std::vector<std::vector<int32_t>> FeedAll(const HfBackend& b,
                                          const std::vector<int>& rooms,
                                          const std::vector<Step>& steps,
                                          int vocab) {
  absl::StatusOr<std::unique_ptr<ChunkGroup>> g = b.Start(rooms);
  EXPECT_TRUE(g.ok()) << g.status();
  std::vector<std::vector<int32_t>> all;
  for (const Step& s : steps) {
    std::vector<std::vector<int32_t>> out(s.chunks.size(),
                                          std::vector<int32_t>(vocab, -1));
    std::vector<int32_t*> ptrs;
    for (auto& o : out) ptrs.push_back(o.data());
    const absl::Status st = (*g)->Feed(s.chunks, s.tokens, ptrs);
    EXPECT_TRUE(st.ok()) << st;
    for (auto& o : out) all.push_back(std::move(o));
  }
  return all;
}

TEST(TorchBackendTest, LogitsEqualTheKernels) {
  std::mt19937 rng(7);
  for (const auto& m : Models()) {
    const int vocab = m->config().vocab_size;
    const auto tok = [&] { return static_cast<uint32_t>(rng() % vocab); };
    // Three chunks: all at once, many positions each (unequal counts), a
    // subset, then chunks at different positions in one call, then one alone
    // up to its room.
    std::vector<Step> steps = {{{0, 1, 2}, {tok(), tok(), tok()}}};
    Step many;
    for (int k = 0; k < 5; ++k)
      many.chunks.push_back(0), many.tokens.push_back(tok());
    for (int k = 0; k < 3; ++k)
      many.chunks.push_back(1), many.tokens.push_back(tok());
    for (int k = 0; k < 2; ++k)
      many.chunks.push_back(2), many.tokens.push_back(tok());
    steps.push_back(many);
    steps.push_back({{1, 2}, {tok(), tok()}});
    steps.push_back({{0, 1, 1, 2}, {tok(), tok(), tok(), tok()}});
    Step rest;
    for (int k = 0; k < 24 - 7; ++k)
      rest.chunks.push_back(0), rest.tokens.push_back(tok());
    steps.push_back(rest);
    const std::vector<int> rooms = {24, 24, 10};
    const auto want = FeedAll(*KernelBackend(*m), rooms, steps, vocab);
    for (const std::string& device : Devices()) {
      absl::StatusOr<std::unique_ptr<TorchBackend>> b =
          TorchBackend::Create(*m, device);
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_EQ((*b)->name(), "torch:" + device);
      const auto got = FeedAll(**b, rooms, steps, vocab);
      ASSERT_EQ(got.size(), want.size());
      for (size_t r = 0; r < want.size(); ++r) {
        ASSERT_EQ(got[r], want[r])
            << m->config().source << " on " << device << ", row " << r;
      }
    }
  }
}

TEST(TorchBackendTest, FramesAreTheKernelsFrames) {
  std::string text;
  for (int i = 0; i < 5; ++i) {
    text +=
        "The theory of the thing is that there are no real answers in the end; "
        "the rest is "
        "interpretation. ";
  }
  std::mt19937 rng(11);
  std::string binary(300, '\0');
  for (char& c : binary) c = static_cast<char>(rng());
  for (const auto& m : Models()) {
    for (const std::string& device : Devices()) {
      absl::StatusOr<std::unique_ptr<TorchBackend>> b =
          TorchBackend::Create(*m, device);
      ASSERT_TRUE(b.ok()) << b.status();
      for (const std::string& input : {text, binary, std::string("x")}) {
        for (const TokenCodecOptions& shape :
             {TokenCodecOptions{},
              TokenCodecOptions{
                  .threads = 2, .lockstep = 1, .encode_rows = 7}}) {
          absl::StatusOr<std::string> want = CompressTokens(*m, input, shape);
          ASSERT_TRUE(want.ok()) << want.status();
          TokenCodecOptions on = shape;
          on.backend = b->get();
          absl::StatusOr<std::string> got = CompressTokens(*m, input, on);
          ASSERT_TRUE(got.ok()) << got.status();
          EXPECT_EQ(*got, *want) << device;
          absl::StatusOr<std::string> back = DecompressTokens(*m, *want, on);
          ASSERT_TRUE(back.ok()) << back.status();
          EXPECT_EQ(*back, input);
        }
      }
    }
  }
}

TEST(TorchBackendTest, RefusesWhatItCannotRun) {
  const std::unique_ptr<HfIntModel> m = Load(testing::TinyConvertedGpt2());
  EXPECT_EQ(TorchBackend::Create(*m, "no such device").status().code(),
            absl::StatusCode::kInvalidArgument);
  if (!TorchBackend::BuiltWithCuda() || !torch::cuda::is_available()) {
    absl::Status s = TorchBackend::Create(*m, "cuda").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  }
  absl::StatusOr<std::unique_ptr<TorchBackend>> b =
      TorchBackend::Create(*m, "cpu");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->MemoryBudget(), 0u);
  EXPECT_EQ((*b)->Start(std::vector<int>{25}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*b)->Start(std::vector<int>{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<ChunkGroup>> g =
      (*b)->Start(std::vector<int>{2});
  ASSERT_TRUE(g.ok());
  std::vector<int32_t> out(3 * m->config().vocab_size);
  std::vector<int32_t*> ptrs = {&out[0], &out[m->config().vocab_size],
                                &out[2 * m->config().vocab_size]};
  EXPECT_EQ((*g)->Feed(std::vector<uint32_t>{0, 0, 0},
                       std::vector<uint32_t>{1, 2, 3}, ptrs)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*g)->Feed(std::vector<uint32_t>{1}, std::vector<uint32_t>{1},
                       {ptrs.data(), 1})
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lmc::hf
