#include "model/random_model.h"

#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "model/quantize.h"
#include "model/safetensors.h"

namespace lmc {
namespace {

template <typename T>
std::string Raw(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

void AddLinear(const std::string& name, int rows, int cols, double in_std,
               double out_std, std::mt19937_64& rng, std::vector<TensorData>* t) {
  std::uniform_int_distribution<int> w(-127, 127);
  std::vector<int8_t> wq(size_t(rows) * cols);
  for (auto& x : wq) x = static_cast<int8_t>(w(rng));
  const int shift = 30;
  const double acc_std = std::sqrt(double(cols)) * in_std * 73.3;
  std::vector<int32_t> m(rows, static_cast<int32_t>(std::ldexp(out_std / acc_std, shift)));
  std::vector<int32_t> s(rows, shift);
  std::vector<int64_t> b(rows);
  std::normal_distribution<double> nb(0, out_std * 0.1);
  for (auto& x : b) x = std::llround(std::ldexp(nb(rng), shift));
  t->push_back({name + ".w", "I8", {rows, cols}, Raw(wq)});
  t->push_back({name + ".m", "I32", {rows}, Raw(m)});
  t->push_back({name + ".s", "I32", {rows}, Raw(s)});
  t->push_back({name + ".b", "I64", {rows}, Raw(b)});
}

}  // namespace

ModelConfig TinyConfig() {
  ModelConfig c;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 2;
  c.d_ff = 64;
  c.window = 24;
  return c;
}

ModelConfig MicroConfig() {
  ModelConfig c;
  c.d_model = 16;
  c.n_layers = 1;
  c.n_heads = 1;
  c.d_ff = 16;
  c.window = 8;
  return c;
}

std::string MakeRandomModel(const ModelConfig& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TensorData> t;
  const int d = c.d_model;
  const double res_std = std::ldexp(1.0, c.residual_bits);
  std::normal_distribution<double> ne(0, res_std);
  std::vector<int32_t> embed(size_t(ModelConfig::kVocab + 1) * d);
  for (auto& x : embed) x = static_cast<int32_t>(std::llround(ne(rng)));
  t.push_back({"embed", "I32", {ModelConfig::kVocab + 1, d}, Raw(embed)});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = absl::StrCat("l", l, ".");
    AddLinear(p + "qkv", 3 * d, d, c.norm_steps, 40, rng, &t);
    AddLinear(p + "out", d, d, 40, res_std * 0.5, rng, &t);
    AddLinear(p + "ff1", c.d_ff, d, c.norm_steps, 40, rng, &t);
    AddLinear(p + "ff2", d, c.d_ff, 30, res_std * 0.5, rng, &t);
    // Scores of about +-2 nats for typical q.k.
    const double dot_std = std::sqrt(double(c.head_dim())) * 40 * 40;
    std::vector<int64_t> score = {std::llround(std::ldexp(2.0 * c.score_unit / dot_std, 30)), 30};
    t.push_back({p + "score", "I64", {2}, Raw(score)});
  }
  AddLinear("head", ModelConfig::kVocab, d, c.norm_steps, 3.0 * c.score_unit, rng, &t);
  t.push_back({"alibi", "I32", {c.n_heads}, Raw(c.AlibiSlopes())});
  const std::vector<int32_t> table = ExpTable(c.score_unit, c.exp_bits, c.exp_table_size);
  t.push_back({"exp_table", "I32", {c.exp_table_size}, Raw(table)});
  return SerializeSafetensors(std::move(t), {{"lmc.config", c.ToJson()}});
}

}  // namespace lmc
