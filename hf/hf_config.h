// The config.json of a Hugging Face causal language model, reduced to what lmc
// needs to run it: GPT-2 (GPT2LMHeadModel) and the Llama family (LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM; SmolLM2 and Llama 3 are LlamaForCausalLM).
//
//   LMC_ASSIGN_OR_RETURN(HfConfig c, HfConfig::FromJson(ReadFile(dir + "/config.json")));
//   c.architecture == HfArchitecture::kLlama;
#ifndef LMC_HF_HF_CONFIG_H_
#define LMC_HF_HF_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"

namespace lmc::hf {

enum class HfArchitecture {
  kGpt2,   // LayerNorm with bias, learned positions, GELU (tanh) MLP, Conv1D weights
  kLlama,  // RMSNorm, RoPE, SwiGLU MLP, grouped-query attention, no biases but Qwen2's q/k/v
};

struct RopeScaling {
  std::string type;  // "" (none), "linear" or "llama3"
  double factor = 1;
  double low_freq_factor = 1, high_freq_factor = 4;  // llama3
  int original_max_positions = 8192;                 // llama3
};

struct HfConfig {
  HfArchitecture architecture = HfArchitecture::kLlama;
  std::string name;  // config.json's architectures[0], for messages and `lmc info`
  int vocab_size = 0;
  int d_model = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;  // == n_heads without grouped-query attention
  int head_dim = 0;
  int d_ff = 0;
  int max_positions = 0;
  double norm_eps = 1e-5;
  double rope_theta = 10000;  // Llama family
  RopeScaling rope_scaling;
  bool tied_embeddings = false;  // the output head is the embedding matrix
  bool qkv_bias = false;         // GPT-2 and Qwen2
  std::string activation;        // "gelu_new" (GPT-2) or "silu"
  int bos_token_id = -1;         // -1: none (or none inside the vocabulary)

  // INVALID_ARGUMENT for a malformed or inconsistent config, UNIMPLEMENTED for
  // an architecture or option lmc does not run.
  static absl::StatusOr<HfConfig> FromJson(const std::string& json);
};

}  // namespace lmc::hf

#endif  // LMC_HF_HF_CONFIG_H_
