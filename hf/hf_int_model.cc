#include "hf/hf_int_model.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status_macros.h"
#include "model/quantize.h"
#include "model/safetensors.h"
#include "nlohmann/json.hpp"

namespace lmc::hf {
namespace {

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("converted model: ", what));
}

absl::Status ReadNorm(const Safetensors& st, const std::string& name, int d, int shift,
                      IntNorm* n) {
  LMC_RETURN_IF_ERROR(ReadTensor(st, name + ".g", "I64", {d}, &n->g));
  LMC_RETURN_IF_ERROR(ReadTensor(st, name + ".b", "I64", {d}, &n->b));
  std::vector<int64_t> eps;
  LMC_RETURN_IF_ERROR(ReadTensor(st, name + ".eps", "I64", {1}, &eps));
  n->eps = eps[0];
  // |c| <= 2^25 and |g| <= 2^36 keep c * g inside int64; b is added after the
  // division, and the sum is shifted by `shift`.
  for (int i = 0; i < d; ++i) {
    if (n->g[i] > (int64_t{1} << 36) || n->g[i] < -(int64_t{1} << 36) ||
        n->b[i] > (int64_t{1} << 40) || n->b[i] < -(int64_t{1} << 40)) {
      return Bad(absl::StrCat(name, " gamma or beta out of range"));
    }
  }
  if (n->eps < 0 || n->eps > (int64_t{1} << 50) || shift < 1) return Bad(name + ".eps out of range");
  return absl::OkStatus();
}

absl::Status CheckRange(const std::vector<int32_t>& v, int64_t lo, int64_t hi,
                        const std::string& name) {
  for (int32_t x : v) {
    if (x < lo || x > hi) return Bad(name + " out of range");
  }
  return absl::OkStatus();
}

}  // namespace

std::string HfIntConfig::ToJson() const {
  nlohmann::ordered_json j;
  j["architecture"] = kHfIntArchitecture;
  j["family"] = gpt2 ? "gpt2" : "llama";
  j["source"] = source;
  j["vocab_size"] = vocab_size;
  j["d_model"] = d_model;
  j["n_layers"] = n_layers;
  j["n_heads"] = n_heads;
  j["n_kv_heads"] = n_kv_heads;
  j["head_dim"] = head_dim;
  j["d_ff"] = d_ff;
  j["context"] = context;
  j["bos"] = bos;
  j["score_unit"] = score_unit;
  j["exp_table_size"] = exp_table_size;
  j["exp_bits"] = exp_bits;
  j["norm_shift"] = norm_shift;
  j["rope_bits"] = rope_bits;
  return j.dump(2);
}

absl::StatusOr<HfIntConfig> HfIntConfig::FromJson(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad("config is not a JSON object");
  if (j.value("architecture", "") != kHfIntArchitecture) return Bad("architecture is not lmc-hf-int8");
  HfIntConfig c;
  const std::string family = j.value("family", "");
  if (family != "gpt2" && family != "llama") return Bad("family must be gpt2 or llama");
  c.gpt2 = family == "gpt2";
  if (j.contains("source") && j["source"].is_string()) c.source = j["source"].get<std::string>();
  const auto get = [&](const char* key, int64_t lo, int64_t hi, int* out) -> absl::Status {
    if (!j.contains(key) || !j[key].is_number_integer()) return Bad(absl::StrCat("missing integer ", key));
    const int64_t v = j[key].get<int64_t>();
    if (v < lo || v > hi) return Bad(absl::StrCat(key, " out of range"));
    *out = static_cast<int>(v);
    return absl::OkStatus();
  };
  // Widths up to 2^16 keep every int8 matmul sum inside int32 (model/kernels.h).
  LMC_RETURN_IF_ERROR(get("vocab_size", 2, 1 << 22, &c.vocab_size));
  LMC_RETURN_IF_ERROR(get("d_model", 1, 1 << 16, &c.d_model));
  LMC_RETURN_IF_ERROR(get("n_layers", 1, 1024, &c.n_layers));
  LMC_RETURN_IF_ERROR(get("n_heads", 1, 1024, &c.n_heads));
  LMC_RETURN_IF_ERROR(get("n_kv_heads", 1, 1024, &c.n_kv_heads));
  LMC_RETURN_IF_ERROR(get("head_dim", 2, 1024, &c.head_dim));
  LMC_RETURN_IF_ERROR(get("d_ff", 1, 1 << 16, &c.d_ff));
  LMC_RETURN_IF_ERROR(get("context", 2, 1 << 16, &c.context));
  LMC_RETURN_IF_ERROR(get("bos", -1, c.vocab_size - 1, &c.bos));
  LMC_RETURN_IF_ERROR(get("score_unit", 1, 1024, &c.score_unit));
  LMC_RETURN_IF_ERROR(get("exp_table_size", 1, 1 << 20, &c.exp_table_size));
  LMC_RETURN_IF_ERROR(get("exp_bits", 1, 24, &c.exp_bits));
  LMC_RETURN_IF_ERROR(get("norm_shift", 1, 24, &c.norm_shift));
  LMC_RETURN_IF_ERROR(get("rope_bits", 1, 20, &c.rope_bits));
  if (c.n_heads % c.n_kv_heads != 0) return Bad("n_heads is not a multiple of n_kv_heads");
  if (c.n_heads * c.head_dim > (1 << 16)) return Bad("attention width out of range");
  if (!c.gpt2 && c.head_dim % 2 != 0) return Bad("head_dim must be even for RoPE");
  return c;
}

bool HfIntModel::IsHfIntFile(std::string_view bytes) {
  // The safetensors header (u64 length, then JSON) names the metadata keys.
  if (bytes.size() < 8) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  if (n > bytes.size() - 8) return false;
  return bytes.substr(8, n).find(absl::StrCat("\"", kHfIntConfigKey, "\"")) != std::string_view::npos;
}

bool HfIntModel::IsHfIntPath(const std::string& path) {
  std::error_code ec;
  const std::string file =
      std::filesystem::is_directory(path, ec) ? path + "/model.safetensors" : path;
  std::ifstream f(file, std::ios::binary);
  std::string head(8, '\0');
  if (!f.read(head.data(), 8)) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(head[i]);
  if (n > (uint64_t{1} << 30)) return false;
  head.resize(8 + n);
  if (!f.read(head.data() + 8, static_cast<std::streamsize>(n))) return false;
  return IsHfIntFile(head);
}

int64_t HfIntModel::parameters() const {
  int64_t n = static_cast<int64_t>(embed.w.size() + pos_embed.size() + head.w.size());
  for (const HfIntLayer& l : layers) {
    n += static_cast<int64_t>(l.q.w.size() + l.k.w.size() + l.v.w.size() + l.o.w.size() +
                              l.up.w.size() + l.gate.w.size() + l.down.w.size());
  }
  return n;
}

absl::StatusOr<std::unique_ptr<HfIntModel>> HfIntModel::FromBytes(std::string bytes) {
  std::unique_ptr<HfIntModel> m(new HfIntModel());
  m->fingerprint_ = Sha256(bytes);
  LMC_ASSIGN_OR_RETURN(Safetensors st, Safetensors::Parse(std::move(bytes)));
  const auto& meta = st.metadata();
  auto cfg = meta.find(kHfIntConfigKey);
  auto tok = meta.find(kHfIntTokenizerKey);
  if (cfg == meta.end() || tok == meta.end()) {
    return Bad("no lmc.hf_config or lmc.tokenizer metadata (not made by `lmc convert`)");
  }
  LMC_ASSIGN_OR_RETURN(m->config_, HfIntConfig::FromJson(cfg->second));
  LMC_ASSIGN_OR_RETURN(tokenizer::Tokenizer t, tokenizer::Tokenizer::FromJson(tok->second));
  m->tokenizer_ = std::make_unique<tokenizer::Tokenizer>(std::move(t));
  const HfIntConfig& c = m->config_;
  if (m->tokenizer_->vocab_size() > static_cast<uint32_t>(c.vocab_size)) {
    return Bad("the tokenizer has more tokens than the model's vocabulary");
  }
  const int d = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  const int64_t kResid = int64_t{1} << 24;
  LMC_RETURN_IF_ERROR(ReadLinear(st, "embed", c.vocab_size, d, &m->embed, /*pack=*/false));
  if (c.gpt2) {
    LMC_RETURN_IF_ERROR(ReadTensor(st, "pos_embed", "I32", {c.context, d}, &m->pos_embed));
    LMC_RETURN_IF_ERROR(CheckRange(m->pos_embed, -kResid, kResid, "pos_embed"));
  } else {
    const int half = c.head_dim / 2, one = 1 << c.rope_bits;
    LMC_RETURN_IF_ERROR(ReadTensor(st, "rope_cos", "I32", {c.context, half}, &m->rope_cos));
    LMC_RETURN_IF_ERROR(ReadTensor(st, "rope_sin", "I32", {c.context, half}, &m->rope_sin));
    LMC_RETURN_IF_ERROR(CheckRange(m->rope_cos, -one, one, "rope_cos"));
    LMC_RETURN_IF_ERROR(CheckRange(m->rope_sin, -one, one, "rope_sin"));
  }
  m->layers.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = absl::StrCat("l", i, ".");
    HfIntLayer& l = m->layers[i];
    LMC_RETURN_IF_ERROR(ReadNorm(st, p + "attn_norm", d, c.norm_shift, &l.attn_norm));
    LMC_RETURN_IF_ERROR(ReadNorm(st, p + "mlp_norm", d, c.norm_shift, &l.mlp_norm));
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "q", qd, d, &l.q));
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "k", kvd, d, &l.k));
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "v", kvd, d, &l.v));
    {
      std::vector<int64_t> sm;
      std::vector<int32_t> ss;
      LMC_RETURN_IF_ERROR(ReadMultipliers(st, p + "score", 0, &sm, &ss));
      l.score_m = sm[0];
      l.score_s = ss[0];
    }
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "o", d, qd, &l.o));
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "up", c.d_ff, d, &l.up));
    LMC_RETURN_IF_ERROR(ReadTensor(st, p + "act", "I32", {255}, &l.act));
    if (c.gpt2) {
      LMC_RETURN_IF_ERROR(CheckRange(l.act, -127, 127, p + "act"));
    } else {
      LMC_RETURN_IF_ERROR(ReadLinear(st, p + "gate", c.d_ff, d, &l.gate));
      LMC_RETURN_IF_ERROR(CheckRange(l.act, -(1 << 16), 1 << 16, p + "act"));
      LMC_RETURN_IF_ERROR(ReadMultipliers(st, p + "glu", c.d_ff, &l.glu_m, &l.glu_s));
    }
    LMC_RETURN_IF_ERROR(ReadLinear(st, p + "down", d, c.d_ff, &l.down));
  }
  LMC_RETURN_IF_ERROR(ReadNorm(st, "final_norm", d, c.norm_shift, &m->final_norm));
  LMC_RETURN_IF_ERROR(ReadLinear(st, "head", c.vocab_size, d, &m->head));
  if (c.vocab_size % 16 != 0) {
    // The vector matmul takes 16 outputs at a time; without zero rows up to a
    // multiple of 16 (GPT-2's 50257) the head, a third of the work, would run
    // on the portable loop. HfSession reads the first vocab_size outputs.
    const int padded = (c.vocab_size + 15) / 16 * 16;
    std::vector<int8_t> w(static_cast<size_t>(padded) * d, 0);
    std::copy(m->head.w.begin(), m->head.w.end(), w.begin());
    m->head.packed = kernels::Pack(w.data(), padded, d);
  }
  LMC_RETURN_IF_ERROR(ReadTensor(st, "exp_table", "I32", {c.exp_table_size}, &m->exp_table));
  LMC_RETURN_IF_ERROR(CheckRange(m->exp_table, 0, int64_t{1} << c.exp_bits, "exp_table"));
  if (m->exp_table[0] < 1) return Bad("exp_table[0] must be positive");
  return m;
}

absl::StatusOr<std::unique_ptr<HfIntModel>> HfIntModel::Load(const std::string& path) {
  std::error_code ec;
  std::string file = path;
  if (std::filesystem::is_directory(path, ec)) file = path + "/model.safetensors";
  LMC_ASSIGN_OR_RETURN(std::string bytes, ReadFile(file));
  return FromBytes(std::move(bytes));
}

}  // namespace lmc::hf
