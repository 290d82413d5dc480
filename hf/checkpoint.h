// A Hugging Face checkpoint directory read into float tensors under lmc's own
// names, checked against its config.json: config.json plus model.safetensors,
// or model.safetensors.index.json and its shards. Weights may be F32, F16 or
// BF16. Every matrix is stored [out][in] (GPT-2's Conv1D weights are
// transposed on load, its fused c_attn split into q, k and v).
//
// Names (i = layer):
//   embed [V][d]; pos_embed [P][d] (GPT-2); head [V][d] (the embedding when tied)
//   layers.i.attn_norm.{w,b}, layers.i.mlp_norm.{w,b}, final_norm.{w,b}  (b: GPT-2)
//   layers.i.{q,k,v}.w [heads*head_dim][d] (k, v: kv_heads), layers.i.{q,k,v}.b
//   layers.i.o.w [d][heads*head_dim], layers.i.o.b (GPT-2)
//   GPT-2: layers.i.up.{w,b} [d_ff][d], layers.i.down.{w,b} [d][d_ff]
//   Llama: layers.i.gate.w, layers.i.up.w [d_ff][d], layers.i.down.w [d][d_ff]
//
//   LMC_ASSIGN_OR_RETURN(Checkpoint ck, Checkpoint::Load("path/to/SmolLM2-135M"));
//   const FloatTensor& q = ck.tensor("layers.0.q.w");
#ifndef LMC_HF_CHECKPOINT_H_
#define LMC_HF_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hf/hf_config.h"

namespace lmc::hf {

struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major
};

class Checkpoint {
 public:
  // NOT_FOUND for a missing file; INVALID_ARGUMENT for a missing tensor, a
  // shape that disagrees with config.json or a damaged file; UNIMPLEMENTED for
  // an architecture or dtype lmc does not read.
  static absl::StatusOr<Checkpoint> Load(const std::string& dir);

  const HfConfig& config() const { return config_; }
  // The tensor `name` (see above); it must exist for the architecture.
  const FloatTensor& tensor(const std::string& name) const { return tensors_.at(name); }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  const std::map<std::string, FloatTensor>& tensors() const { return tensors_; }
  int64_t parameters() const;

 private:
  HfConfig config_;
  std::map<std::string, FloatTensor> tensors_;
};

}  // namespace lmc::hf

#endif  // LMC_HF_CHECKPOINT_H_
