#include "model/int_model.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status_macros.h"
#include "model/safetensors.h"

namespace lmc {
namespace {

template <typename T>
absl::Status Read(const Safetensors& st, const std::string& name, const char* dtype,
                  std::vector<int64_t> shape, std::vector<T>* out) {
  LMC_ASSIGN_OR_RETURN(TensorView v, st.Get(name, dtype, shape));
  out->resize(v.bytes.size() / sizeof(T));
  std::memcpy(out->data(), v.bytes.data(), v.bytes.size());
  return absl::OkStatus();
}

absl::Status ReadLinear(const Safetensors& st, const std::string& name, int rows,
                        int cols, QuantLinear* l) {
  l->rows = rows;
  l->cols = cols;
  LMC_RETURN_IF_ERROR(Read(st, name + ".w", "I8", {rows, cols}, &l->w));
  LMC_RETURN_IF_ERROR(Read(st, name + ".m", "I32", {rows}, &l->m));
  LMC_RETURN_IF_ERROR(Read(st, name + ".s", "I32", {rows}, &l->s));
  LMC_RETURN_IF_ERROR(Read(st, name + ".b", "I64", {rows}, &l->b));
  for (int o = 0; o < rows; ++o) {
    // These bounds keep acc * m + b + 2^(s-1) inside int64 (docs/model.md).
    if (l->m[o] < 0 || l->s[o] < 1 || l->s[o] > 62 ||
        l->b[o] > (int64_t{1} << 61) || l->b[o] < -(int64_t{1} << 61)) {
      return absl::InvalidArgumentError(
          absl::StrCat("model: ", name, " has an out-of-range multiplier, shift or bias"));
    }
  }
  for (int8_t w : l->w) {
    if (w == -128) return absl::InvalidArgumentError(absl::StrCat("model: ", name, " uses -128"));
  }
  l->packed = kernels::Pack(l->w.data(), rows, cols);
  return absl::OkStatus();
}

}  // namespace

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
  LMC_RETURN_IF_ERROR(Read(st, "embed", "I32", {ModelConfig::kVocab + 1, d}, &m->embed));
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
    std::vector<int64_t> score;
    LMC_RETURN_IF_ERROR(Read(st, p + "score", "I64", {2}, &score));
    if (score[0] < 0 || score[0] >= (int64_t{1} << 31) || score[1] < 1 || score[1] > 62) {
      return absl::InvalidArgumentError(absl::StrCat("model: ", p, "score out of range"));
    }
    l.score_m = score[0];
    l.score_s = static_cast<int32_t>(score[1]);
  }
  LMC_RETURN_IF_ERROR(ReadLinear(st, "head", ModelConfig::kVocab, d, &m->head));
  LMC_RETURN_IF_ERROR(Read(st, "alibi", "I32", {c.n_heads}, &m->alibi));
  for (int32_t a : m->alibi) {
    if (a < 0 || a > (1 << 16)) return absl::InvalidArgumentError("model: alibi slope out of range");
  }
  LMC_RETURN_IF_ERROR(Read(st, "exp_table", "I32", {c.exp_table_size}, &m->exp_table));
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
