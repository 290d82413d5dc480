// The float forward pass of a Hugging Face checkpoint, as transformers computes
// it (GPT-2: LayerNorm, learned positions, tanh GELU; Llama family: RMSNorm,
// rotate-half RoPE with linear or llama3 scaling, SwiGLU, grouped-query
// attention, Qwen2's q/k/v biases). It is the reference that lmc's integer
// conversion is measured against and that scripts/device-check.sh compares with
// transformers itself; it is plain loops in double precision, for checking, not
// for coding (float results are not exact across machines; lmc codes with the
// integer model).
//
//   LMC_ASSIGN_OR_RETURN(Checkpoint ck, Checkpoint::Load(dir));
//   FloatModel m(ck);
//   std::vector<float> logits = m.Logits(ids);  // ids.size() x vocab_size
#ifndef LMC_HF_FLOAT_MODEL_H_
#define LMC_HF_FLOAT_MODEL_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "hf/checkpoint.h"

namespace lmc::hf {

class FloatModel {
 public:
  explicit FloatModel(const Checkpoint& ck) : ck_(ck) {}

  // Logits of every position, row-major [tokens][vocab]. INVALID_ARGUMENT for
  // an id outside the vocabulary or more tokens than the model's positions
  // (GPT-2's learned table).
  //
  // `observe`, when given, sees every activation that lmc's integer conversion
  // quantises, one vector at a time: "resid" (the residual stream after the
  // embedding and after every block half), and per layer i "layers.i.attn_norm",
  // "layers.i.q", ".k", ".v" (before RoPE), "layers.i.mlp_norm", "layers.i.up",
  // "layers.i.act" (GELU output, GPT-2), "layers.i.gate" and "layers.i.glu"
  // (silu(gate) * up, Llama); then "final_norm".
  using Observer = std::function<void(std::string_view point, std::span<const double> values)>;
  absl::StatusOr<std::vector<float>> Logits(std::span<const uint32_t> ids,
                                            const Observer& observe = nullptr) const;

 private:
  const Checkpoint& ck_;
};

// The rotary inverse frequencies of a Llama-family config (head_dim / 2 of
// them), scaling applied, as transformers' rope initialisation computes them.
std::vector<double> RopeInverseFrequencies(const HfConfig& c);

// GPT-2's "gelu_new" (the tanh approximation) and SiLU, as transformers has them.
double GeluTanh(double x);
double Silu(double x);

}  // namespace lmc::hf

#endif  // LMC_HF_FLOAT_MODEL_H_
