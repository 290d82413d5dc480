// A Hugging Face model converted to lmc's exact integer inference (architecture
// "lmc-hf-int8", docs/pretrained.md "The converted model"): int8 weights with
// per-row fixed-point scales, norms with an integer square root, GELU and SiLU
// by tables, RoPE by fixed-point tables, softmax by an exponential table, and the
// model's tokenizer.json inside the file. Every value the arithmetic reads comes
// from the file, so any machine computes the same logits; the fingerprint, the
// SHA-256 of the whole file, covers weights, scales and tokenizer alike.
//
//   LMC_ASSIGN_OR_RETURN(auto m, HfIntModel::Load("gpt2.lmc"));
//   m->tokenizer().Encode("text");  m->config().context;
#ifndef LMC_HF_HF_INT_MODEL_H_
#define LMC_HF_HF_INT_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hashing.h"
#include "model/int_model.h"
#include "tokenizer/tokenizer.h"

namespace lmc::hf {

inline constexpr char kHfIntArchitecture[] = "lmc-hf-int8";
inline constexpr char kHfIntConfigKey[] = "lmc.hf_config";
inline constexpr char kHfIntTokenizerKey[] = "lmc.tokenizer";

struct HfIntConfig {
  bool gpt2 = false;      // "family": "gpt2" (LayerNorm, positions, GELU) or "llama"
  std::string source;     // the checkpoint's architecture name, for people
  int vocab_size = 0;
  int d_model = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, d_ff = 0;
  int context = 0;        // positions per chunk; GPT-2: at most its learned table
  int bos = -1;           // token fed before each chunk, -1: the first is coded flat
  int score_unit = 32;    // logits and attention scores: this many per nat
  int exp_table_size = 0;
  int exp_bits = 24;
  int norm_shift = 16;    // fixed-point bits of the norms' gamma and beta
  int rope_bits = 14;     // fixed-point bits of the RoPE cos/sin tables

  std::string ToJson() const;
  // INVALID_ARGUMENT for a malformed config or values outside the format's bounds.
  static absl::StatusOr<HfIntConfig> FromJson(const std::string& json);
  // The most tokens one chunk codes (the BOS takes a position).
  int chunk_tokens() const { return bos >= 0 ? context - 1 : context; }
};

// z = clamp(round_shift(round_div(c * g, den) + b, norm_shift), -127, 127)
// over c = x - mean (LayerNorm) or c = x (RMSNorm), den = isqrt(var + eps).
struct IntNorm {
  std::vector<int64_t> g, b;
  int64_t eps = 0;
};

struct HfIntLayer {
  IntNorm attn_norm, mlp_norm;
  QuantLinear q, k, v;        // int8 outputs
  int64_t score_m = 0;        // rotated q.k -> score units
  int32_t score_s = 1;
  QuantLinear o;              // -> residual
  QuantLinear up, gate;       // int8 outputs (gate: Llama only)
  std::vector<int32_t> act;   // [255] indexed by int8 + 127: GELU (int8) or SiLU
  std::vector<int64_t> glu_m;  // Llama, per channel: act[gate] * up -> int8
  std::vector<int32_t> glu_s;
  QuantLinear down;           // -> residual
};

class HfIntModel {
 public:
  static absl::StatusOr<std::unique_ptr<HfIntModel>> FromBytes(std::string bytes);
  static absl::StatusOr<std::unique_ptr<HfIntModel>> Load(const std::string& path);
  // Whether these safetensors bytes hold a converted model (its config key),
  // without checking the rest.
  static bool IsHfIntFile(std::string_view bytes);
  // The same for a file or a directory holding model.safetensors, reading only
  // the safetensors header.
  static bool IsHfIntPath(const std::string& path);

  const HfIntConfig& config() const { return config_; }
  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
  const Sha256Digest& fingerprint() const { return fingerprint_; }
  std::string fingerprint_hex() const { return ToHex(fingerprint_); }
  int64_t parameters() const;

  QuantLinear embed;               // [vocab][d] int8 rows: row t times its (m, s) is
                                   // token t's residual vector (not packed)
  std::vector<int32_t> pos_embed;  // [context][d] (GPT-2)
  std::vector<HfIntLayer> layers;
  IntNorm final_norm;
  QuantLinear head;                // -> logits in score units; packed with zero
                                   // rows up to a multiple of 16
  std::vector<int32_t> rope_cos, rope_sin;  // [context][head_dim / 2] (Llama)
  std::vector<int32_t> exp_table;

 private:
  HfIntModel() = default;
  HfIntConfig config_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  Sha256Digest fingerprint_{};
};

}  // namespace lmc::hf

#endif  // LMC_HF_HF_INT_MODEL_H_
