// lmc's integer transformer: the weights and fixed-point parameters that make
// inference exact. Every quantity is an integer read from the model file, so the
// same chunk gives the same frequency tables on any machine, batch or thread count.
// docs/model.md gives the arithmetic; model/evaluator.h runs it.
//
//   LMC_ASSIGN_OR_RETURN(auto model, IntModel::Load("models/default"));
//   model->fingerprint();  // SHA-256 of model.safetensors, named by every frame
#ifndef LMC_MODEL_INT_MODEL_H_
#define LMC_MODEL_INT_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hashing.h"
#include "model/kernels.h"
#include "model/model_config.h"

namespace lmc {

// y[o] = round_shift(sum_k x[k] * w[o][k] * m[o] + b[o], s[o]).
struct QuantLinear {
  int rows = 0, cols = 0;
  std::vector<int8_t> w;   // [rows][cols]
  std::vector<int32_t> m;  // multiplier per output, 0 <= m < 2^31
  std::vector<int32_t> s;  // shift per output, 1..62
  std::vector<int64_t> b;  // bias per output, already scaled by 2^s
  kernels::PackedWeights packed;  // w laid out for the matmul kernel
};

struct IntLayer {
  QuantLinear qkv;  // rows: q (d), k (d), v (d); int8 outputs
  QuantLinear out;  // attention output -> residual
  QuantLinear ff1;  // -> ReLU, int8 [0, 127]
  QuantLinear ff2;  // -> residual
  int64_t score_m = 0;  // q.k dot -> attention score units
  int32_t score_s = 1;
};

class IntModel {
 public:
  // `safetensors` is the model file; `config_json`, when not empty, must describe
  // the same model as the config embedded in the file.
  static absl::StatusOr<std::unique_ptr<IntModel>> FromBytes(
      std::string safetensors, const std::string& config_json = "");
  // A directory holding model.safetensors (and config.json), or a file.
  static absl::StatusOr<std::unique_ptr<IntModel>> Load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const Sha256Digest& fingerprint() const { return fingerprint_; }
  std::string fingerprint_hex() const { return ToHex(fingerprint_); }
  int64_t parameters() const;
  size_t file_bytes() const { return file_bytes_; }

  ModelConfig config_;
  Sha256Digest fingerprint_{};
  size_t file_bytes_ = 0;
  std::vector<int32_t> embed;  // [257][d_model], residual units
  std::vector<IntLayer> layers;
  QuantLinear head;            // -> logits in score units
  std::vector<int32_t> alibi;  // per head, score units per position
  std::vector<int32_t> exp_table;

 private:
  IntModel() = default;
};

}  // namespace lmc

#endif  // LMC_MODEL_INT_MODEL_H_
