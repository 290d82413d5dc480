// Tiny random Hugging Face checkpoints for tests, written in the layouts GPT-2
// and Llama-family models are saved in (Conv1D with fused c_attn, grouped-query
// attention, optional Qwen2 biases, shards, F32/F16/BF16).
//
//   const TinyShape s{.vocab = 300};
//   std::string dir = Write(Gpt2Config(s), Gpt2Tensors(s));
#ifndef LMC_HF_TINY_CHECKPOINT_H_
#define LMC_HF_TINY_CHECKPOINT_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace lmc::hf::testing {

struct TinyShape {
  int vocab = 40, d = 16, ff = 24, positions = 32, layers = 2;
  // Weights are multiples of 1/64 in [-2, 2) (exact in F16 and BF16) times
  // `scale`; with `unit_norms` the norm weights are 1 + scale * that instead,
  // which keeps the activations of a deep stack in a trained model's range.
  float scale = 1;
  bool unit_norms = false;
};

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> v;
};
using Tensors = std::map<std::string, Tensor>;

Tensor Random(std::vector<int64_t> shape, uint32_t seed, float scale = 1, float offset = 0);
// The tensor's bytes as `dtype` (F32, F16, BF16; I32 for refusal tests).
std::string Encode(const Tensor& t, const std::string& dtype);
void WriteFile(const std::filesystem::path& p, const std::string& s);
// Writes config.json and the tensors to a fresh directory and returns it;
// `shards` > 1 splits them round-robin with a model.safetensors.index.json.
std::string Write(const nlohmann::json& config, const Tensors& tensors,
                  const std::string& dtype = "F32", int shards = 1);

// GPT-2: 2 heads; `prefix` "transformer." as some checkpoints have it.
nlohmann::json Gpt2Config(const TinyShape& s);
Tensors Gpt2Tensors(const TinyShape& s, const std::string& prefix = "");
// Llama family: 4 heads over 2 key/value heads.
nlohmann::json LlamaConfig(const TinyShape& s, const std::string& arch = "LlamaForCausalLM",
                           bool tied = false);
Tensors LlamaTensors(const TinyShape& s, bool tied = false, bool bias = false);

// A converted model file (lmc convert) of a tiny random GPT-2: vocabulary 300,
// a 14-merge English tokenizer, context 24, BOS 299. `seed` varies the weights.
absl::StatusOr<std::string> TinyConvertedGpt2(uint32_t seed = 1);
// The same for a tiny random Llama-family model (grouped-query attention, no
// BOS); `bias`: Qwen2's q/k/v biases.
absl::StatusOr<std::string> TinyConvertedLlama(const std::string& arch = "LlamaForCausalLM",
                                               bool bias = false);

}  // namespace lmc::hf::testing

#endif  // LMC_HF_TINY_CHECKPOINT_H_
