// The hyper-parameters of lmc's integer transformer ("lmc-alibi-int8"), shared by
// the trainer (float, LibTorch) and the exact integer inference (model/int_model).
//
// Architecture: byte tokens (0..255) plus a BOS token (256) that opens every chunk;
// n_layers pre-norm blocks of multi-head causal attention with ALiBi position
// biases over a sliding window of `window` positions, and a ReLU MLP; a final norm
// and a linear head to 256 logits. Norms have no affine part (the next linear
// layer absorbs it), so integer inference needs no gamma/beta.
#ifndef LMC_MODEL_MODEL_CONFIG_H_
#define LMC_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lmc {

struct ModelConfig {
  static constexpr char kArchitecture[] = "lmc-alibi-int8";
  static constexpr int kVocab = 256;  // output symbols
  static constexpr int kBos = 256;    // input-only token that opens a chunk

  int d_model = 192;
  int n_layers = 4;
  int n_heads = 3;
  int d_ff = 768;
  int window = 256;  // attention sees the last `window` positions, itself included

  // Fixed-point conventions of the integer model.
  int residual_bits = 12;   // residual stream value = int32 / 2^residual_bits
  int norm_steps = 32;      // normalised activations = int8 / norm_steps
  int score_unit = 256;     // attention scores and logits in 1/score_unit nats
  int exp_table_size = 4096;  // exp(-i/score_unit) for i < size, else 0
  int exp_bits = 20;          // exp table values scaled by 2^exp_bits

  int head_dim() const { return d_model / n_heads; }
  // ALiBi slopes in score units per position of distance, one per head:
  // round(score_unit * 2^(-8 (h+1) / n_heads)), at least 1. The float trainer
  // uses exactly these values divided by score_unit.
  std::vector<int32_t> AlibiSlopes() const;

  std::string ToJson() const;
  static absl::StatusOr<ModelConfig> FromJson(const std::string& json);
  absl::Status Validate() const;
  bool operator==(const ModelConfig&) const = default;
};

}  // namespace lmc

#endif  // LMC_MODEL_MODEL_CONFIG_H_
