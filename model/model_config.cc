#include "model/model_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace lmc {

std::vector<int32_t> ModelConfig::AlibiSlopes() const {
  std::vector<int32_t> slopes;
  for (int h = 0; h < n_heads; ++h) {
    // ldexp and a rational exponent: computed once per model, and the result is
    // also stored in the weights file, which is what inference reads.
    double s = score_unit * std::exp2(-8.0 * (h + 1) / n_heads);
    slopes.push_back(std::max<int32_t>(1, static_cast<int32_t>(std::lround(s))));
  }
  return slopes;
}

std::string ModelConfig::ToJson() const {
  nlohmann::ordered_json j;
  j["architecture"] = kArchitecture;
  j["vocab_size"] = kVocab;
  j["d_model"] = d_model;
  j["n_layers"] = n_layers;
  j["n_heads"] = n_heads;
  j["d_ff"] = d_ff;
  j["window"] = window;
  j["residual_bits"] = residual_bits;
  j["norm_steps"] = norm_steps;
  j["score_unit"] = score_unit;
  j["exp_table_size"] = exp_table_size;
  j["exp_bits"] = exp_bits;
  return j.dump(2);
}

absl::StatusOr<ModelConfig> ModelConfig::FromJson(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("config: not a JSON object");
  if (j.value("architecture", "") != kArchitecture) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: unsupported architecture '",
                     j.value("architecture", ""), "' (expected ", kArchitecture, ")"));
  }
  if (j.value("vocab_size", 0) != kVocab) {
    return absl::InvalidArgumentError("config: vocab_size must be 256");
  }
  ModelConfig c;
  auto get = [&](const char* key, int* out) -> absl::Status {
    if (!j.contains(key) || !j[key].is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat("config: missing integer ", key));
    }
    int64_t v = j[key].get<int64_t>();
    if (v < 0 || v > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat("config: ", key, " out of range"));
    }
    *out = static_cast<int>(v);
    return absl::OkStatus();
  };
  for (auto [key, field] : std::initializer_list<std::pair<const char*, int*>>{
           {"d_model", &c.d_model}, {"n_layers", &c.n_layers},
           {"n_heads", &c.n_heads}, {"d_ff", &c.d_ff}, {"window", &c.window},
           {"residual_bits", &c.residual_bits}, {"norm_steps", &c.norm_steps},
           {"score_unit", &c.score_unit}, {"exp_table_size", &c.exp_table_size},
           {"exp_bits", &c.exp_bits}}) {
    absl::Status s = get(key, field);
    if (!s.ok()) return s;
  }
  absl::Status s = c.Validate();
  if (!s.ok()) return s;
  return c;
}

absl::Status ModelConfig::Validate() const {
  // The bounds keep every integer product of the inference inside int64 and every
  // int8 dot product below 2^31 (see docs/model.md).
  if (d_model < 1 || d_model > 1024 || n_heads < 1 || d_model % n_heads != 0) {
    return absl::InvalidArgumentError("config: d_model must be 1..1024 and divisible by n_heads");
  }
  if (d_ff < 1 || d_ff > 4096) return absl::InvalidArgumentError("config: d_ff must be 1..4096");
  if (n_layers < 1 || n_layers > 64) return absl::InvalidArgumentError("config: n_layers must be 1..64");
  if (window < 1 || window > 8192) return absl::InvalidArgumentError("config: window must be 1..8192");
  if (residual_bits < 4 || residual_bits > 16 || norm_steps < 1 || norm_steps > 127 ||
      score_unit < 1 || score_unit > 4096 || exp_table_size < 2 ||
      exp_table_size > 65536 || exp_bits < 8 || exp_bits > 24) {
    return absl::InvalidArgumentError("config: fixed-point parameters out of range");
  }
  return absl::OkStatus();
}

}  // namespace lmc
