#include "train/export.h"

#include <cmath>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "model/quantize.h"
#include "model/safetensors.h"

namespace lmc::train {
namespace {

// Quantises a linear layer: input scale s_in, output scale s_out (the real value
// of one output step). Emits NAME.w (I8), NAME.m (I32), NAME.s (I32), NAME.b (I64).
absl::Status QuantLinear(const std::string& name, torch::Tensor w, torch::Tensor b,
                         double s_in, double s_out, std::vector<TensorData>* out) {
  w = w.detach().to(torch::kFloat64).contiguous();
  b = b.detach().to(torch::kFloat64).contiguous();
  const int rows = static_cast<int>(w.size(0)), cols = static_cast<int>(w.size(1));
  LMC_ASSIGN_OR_RETURN(
      lmc::QuantLinear q,
      QuantizeLinear(name, {w.data_ptr<double>(), static_cast<size_t>(w.numel())}, rows, cols,
                     {b.data_ptr<double>(), static_cast<size_t>(b.numel())}, s_in, s_out));
  AppendLinear(name, q, out);
  return absl::OkStatus();
}

// Scale so that the 99.99th percentile of |x| maps to 127.
double CalibratedScale(const std::vector<torch::Tensor>& xs) {
  auto flat = torch::cat(xs, 0).flatten().abs().to(torch::kFloat32);
  int64_t n = flat.numel();
  if (n > (1 << 22)) flat = flat.index({torch::randperm(n).slice(0, 0, 1 << 22)}), n = 1 << 22;
  auto sorted = std::get<0>(flat.sort());
  double q = sorted[std::min<int64_t>(n - 1, static_cast<int64_t>(n * 0.9999))].item<double>();
  return std::max(q, 1e-6) / 127.0;
}

}  // namespace

absl::StatusOr<std::string> ExportIntModel(FloatModel& model, const Corpus& calib,
                                           int calib_batches) {
  const ModelConfig& c = model->cfg;
  model->eval();
  torch::NoGradGuard ng;
  std::vector<Capture> caps(calib_batches);
  std::mt19937_64 rng(12345);
  for (int i = 0; i < calib_batches; ++i) {
    auto [in, tg] = calib.Sample(16, 512, rng);
    model->forward(in, &caps[i]);
  }
  std::vector<TensorData> t;
  const double s_norm = 1.0 / c.norm_steps;
  const double s_res = std::ldexp(1.0, -c.residual_bits);
  {
    auto e = model->embed->weight.detach().to(torch::kFloat64).contiguous();
    std::vector<int32_t> eq(e.numel());
    auto* p = e.data_ptr<double>();
    for (int64_t i = 0; i < e.numel(); ++i) eq[i] = static_cast<int32_t>(std::llround(p[i] / s_res));
    t.push_back({"embed", "I32", {e.size(0), e.size(1)}, TensorBytes(eq)});
  }
  std::vector<float> act_scales;
  for (int l = 0; l < c.n_layers; ++l) {
    auto gather = [&](auto member) {
      std::vector<torch::Tensor> xs;
      for (auto& cap : caps) xs.push_back((cap.*member)[l]);
      return CalibratedScale(xs);
    };
    const double sq = gather(&Capture::q), sk = gather(&Capture::k),
                 sv = gather(&Capture::v), su = gather(&Capture::u);
    auto& blk = model->blocks[l];
    const std::string p = absl::StrCat("l", l, ".");
    const int64_t d = c.d_model;
    auto w = blk->qkv->weight, b = blk->qkv->bias;
    // q, k and v have one scale each; quantise the three row blocks separately
    // and concatenate, so the file holds one qkv matrix.
    std::vector<TensorData> parts;
    double scales[3] = {sq, sk, sv};
    for (int j = 0; j < 3; ++j) {
      auto st = QuantLinear(p + "qkv", w.slice(0, j * d, (j + 1) * d),
                            b.slice(0, j * d, (j + 1) * d), s_norm, scales[j], &parts);
      if (!st.ok()) return st;
    }
    for (int f = 0; f < 4; ++f) {  // w, m, s, b
      TensorData merged = parts[f];
      merged.shape[0] = 3 * d;
      merged.bytes = parts[f].bytes + parts[4 + f].bytes + parts[8 + f].bytes;
      t.push_back(std::move(merged));
    }
    const double score_ratio = sq * sk / std::sqrt(double(c.head_dim())) * c.score_unit;
    absl::Status score_st = AppendMultipliers(p + "score", {&score_ratio, 1}, true, &t);
    if (!score_st.ok()) return score_st;
    absl::Status st;
    st = QuantLinear(p + "out", blk->out->weight, blk->out->bias, sv, s_res, &t);
    if (!st.ok()) return st;
    st = QuantLinear(p + "ff1", blk->ff1->weight, blk->ff1->bias, s_norm, su, &t);
    if (!st.ok()) return st;
    st = QuantLinear(p + "ff2", blk->ff2->weight, blk->ff2->bias, su, s_res, &t);
    if (!st.ok()) return st;
    act_scales.insert(act_scales.end(), {float(sq), float(sk), float(sv), float(su)});
  }
  absl::Status st = QuantLinear("head", model->head->weight, model->head->bias,
                                s_norm, 1.0 / c.score_unit, &t);
  if (!st.ok()) return st;
  std::vector<int32_t> slopes = c.AlibiSlopes();
  t.push_back({"alibi", "I32", {c.n_heads}, TensorBytes(slopes)});
  const std::vector<int32_t> table = ExpTable(c.score_unit, c.exp_bits, c.exp_table_size);
  t.push_back({"exp_table", "I32", {c.exp_table_size}, TensorBytes(table)});
  // Informational only: the float activation scales the integers were derived from.
  t.push_back({"info.act_scales", "F32", {int64_t(act_scales.size())}, TensorBytes(act_scales)});
  return SerializeSafetensors(std::move(t), {{"lmc.config", c.ToJson()}});
}

}  // namespace lmc::train
