#include "model/int_model.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status_macros.h"
#include "model/quantize.h"
#include "model/safetensors.h"

namespace lmc {
int64_t IntModel::parameters() const {
  int64_t n = static_cast<int64_t>(embed.size() + head.w.size());
  for (const IntLayer& l : layers) {
    n += static_cast<int64_t>(l.qkv.w.size() + l.out.w.size() + l.ff1.w.size() + l.ff2.w.size());
  }
  return n;
}

absl::StatusOr<std::unique_ptr<IntModel>> IntModel::FromBytes(
    std::string bytes, const std::string& config_json) {
  std::unique_ptr<IntModel> m(new IntModel());
  m->fingerprint_ = Sha256(bytes);
  m->file_bytes_ = bytes.size();
  LMC_ASSIGN_OR_RETURN(Safetensors st, Safetensors::Parse(std::move(bytes)));
  auto it = st.metadata().find("lmc.config");
  if (it == st.metadata().end()) {
    return absl::InvalidArgumentError(
        "model: safetensors file has no lmc.config metadata (not an lmc integer "
        "model; convert checkpoints first)");
  }
  LMC_ASSIGN_OR_RETURN(m->config_, ModelConfig::FromJson(it->second));
  if (!config_json.empty()) {
    LMC_ASSIGN_OR_RETURN(ModelConfig side, ModelConfig::FromJson(config_json));
    if (!(side == m->config_)) {
      return absl::InvalidArgumentError(
          "model: config.json does not match the config inside model.safetensors");
    }
  }
  const ModelConfig& c = m->config_;
  const int d = c.d_model;
  LMC_RETURN_IF_ERROR(ReadTensor(st, "embed", "I32", {ModelConfig::kVocab + 1, d}, &m->embed));
  for (int32_t e : m->embed) {
    if (e > (1 << 24) || e < -(1 << 24)) {
      return absl::InvalidArgumentError("model: embedding value out of range");
    }
  }
  m->layers.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = absl::StrCat("l", i, ".");
    IntLayer& l = m->layers[i];
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "qkv", 3 * d, d, &l.qkv));
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "out", d, d, &l.out));
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "ff1", c.d_ff, d, &l.ff1));
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "ff2", d, c.d_ff, &l.ff2));
    std::vector<int64_t> sm;
    std::vector<int32_t> ss;
    LMC_RETURN_IF_ERROR(ReadMultipliers(st, p + "score", 0, &sm, &ss));
    l.score_m = sm[0];
    l.score_s = ss[0];
  }
  LMC_RETURN_IF_ERROR(ReadLinear(st, "head", ModelConfig::kVocab, d, &m->head));
  LMC_RETURN_IF_ERROR(ReadTensor(st, "alibi", "I32", {c.n_heads}, &m->alibi));
  for (int32_t a : m->alibi) {
    if (a < 0 || a > (1 << 16)) return absl::InvalidArgumentError("model: alibi slope out of range");
  }
  LMC_RETURN_IF_ERROR(ReadTensor(st, "exp_table", "I32", {c.exp_table_size}, &m->exp_table));
  if (m->exp_table[0] < 1) return absl::InvalidArgumentError("model: exp_table[0] must be positive");
  for (int32_t e : m->exp_table) {
    if (e < 0 || e > (1 << 24)) return absl::InvalidArgumentError("model: exp_table out of range");
  }
  return m;
}

absl::StatusOr<std::unique_ptr<IntModel>> IntModel::Load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path file = path, config;
  if (fs::is_directory(path, ec)) {
    file = fs::path(path) / "model.safetensors";
    config = fs::path(path) / "config.json";
  }
  LMC_ASSIGN_OR_RETURN(std::string bytes, ReadFile(file.string()));
  std::string config_json;
  if (!config.empty() && fs::exists(config, ec)) {
    LMC_ASSIGN_OR_RETURN(config_json, ReadFile(config.string()));
  }
  return FromBytes(std::move(bytes), config_json);
}

}  // namespace lmc
