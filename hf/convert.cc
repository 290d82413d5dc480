#include "hf/convert.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "hf/float_model.h"
#include "hf/hf_session.h"
#include "hf/token_coder.h"
#include "model/quantize.h"
#include "model/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace lmc::hf {
namespace {

// Used when the caller gives no calibration text: enough ordinary English for
// the activation ranges of a general model. Domain text calibrates better.
constexpr char kDefaultCalibration[] =
    "The quick brown fox jumps over the lazy dog. Lossless compression keeps every byte: "
    "what goes in comes back out exactly, and a model that predicts the next token well "
    "spends few bits on it. In 1948 Claude Shannon showed that the entropy of a source bounds "
    "the rate of any code. Arithmetic coding comes within a fraction of a bit of that bound "
    "for a whole message. Today large language models, trained on trillions of tokens of "
    "web pages, books and source code, predict text better than any hand-made model.\n\n"
    "Dear colleagues, the meeting on Tuesday, March 3rd, moves to room 214 at 10:30 am. "
    "Please bring the quarterly figures (revenue was up 12.5% to $4.2 million) and your "
    "questions. int main(int argc, char** argv) { return argc > 1 ? 0 : 1; } "
    "{\"id\": 42, \"name\": \"example\", \"tags\": [\"a\", \"b\"], \"ok\": true}\n";

// Largest |value| seen at each quantisation point, per channel.
class Ranges {
 public:
  void See(std::string_view point, std::span<const double> v) {
    std::vector<double>& m = amax_[std::string(point)];
    m.resize(std::max(m.size(), v.size()), 0.0);
    for (size_t i = 0; i < v.size(); ++i) m[i] = std::max(m[i], std::abs(v[i]));
  }
  // The real value of one int8 step at `point`.
  double Step(const std::string& point) const { return Max(point) / 127.0; }
  double Max(const std::string& point) const {
    double m = 1e-8;
    for (double x : Channels(point)) m = std::max(m, x);
    return m;
  }
  std::span<const double> Channels(const std::string& point) const {
    auto it = amax_.find(point);
    return it == amax_.end() ? std::span<const double>() : std::span<const double>(it->second);
  }

 private:
  std::map<std::string, std::vector<double>> amax_;
};

std::vector<double> Doubles(const FloatTensor& t) { return {t.data.begin(), t.data.end()}; }

// The weight matrix of layer `src` ("layers.0.q" -> "layers.0.q.w"; the output
// head is "head" itself).
const FloatTensor& Weight(const Checkpoint& ck, const std::string& src) {
  return ck.has(src + ".w") ? ck.tensor(src + ".w") : ck.tensor(src);
}

class Writer {
 public:
  explicit Writer(const Checkpoint& ck) : ck_(ck) {}
  std::vector<TensorData>& tensors() { return t_; }

  // The layer `src` for inputs whose channel k has step s_in[k] (folded into
  // column k of the weights) and outputs of step s_out[o] (one value: all rows).
  absl::Status Linear(const std::string& name, const std::string& src, std::span<const double> s_in,
                      std::span<const double> s_out) {
    const FloatTensor& w = Weight(ck_, src);
    const int rows = static_cast<int>(w.shape[0]), cols = static_cast<int>(w.shape[1]);
    std::vector<double> wd = Doubles(w);
    for (int o = 0; o < rows; ++o) {
      for (int k = 0; k < cols; ++k) wd[static_cast<size_t>(o) * cols + k] *= s_in[s_in.size() == 1 ? 0 : k];
    }
    const std::vector<double> bd = ck_.has(src + ".b") ? Doubles(ck_.tensor(src + ".b")) : std::vector<double>();
    const std::vector<double> steps =
        s_out.size() == 1 ? std::vector<double>(rows, s_out[0]) : std::vector<double>(s_out.begin(), s_out.end());
    LMC_ASSIGN_OR_RETURN(QuantLinear q, QuantizeLinear(name, wd, rows, cols, bd, 1.0, steps));
    AppendLinear(name, q, &t_);
    return absl::OkStatus();
  }
  absl::Status Linear(const std::string& name, const std::string& src, std::span<const double> s_in,
                      double s_out) {
    return Linear(name, src, s_in, std::span<const double>(&s_out, 1));
  }
  absl::Status Linear(const std::string& name, const std::string& src, double s_in, double s_out) {
    return Linear(name, src, std::span<const double>(&s_in, 1), s_out);
  }

  // gamma/beta folded into the fixed-point norm, output step s_out[k] per channel.
  absl::Status Norm(const std::string& name, const std::string& src, std::span<const double> s_out,
                    double eps_units, int shift) {
    const FloatTensor& g = ck_.tensor(src + ".w");
    const FloatTensor* b = ck_.has(src + ".b") ? &ck_.tensor(src + ".b") : nullptr;
    std::vector<int64_t> gi(g.data.size()), bi(g.data.size(), 0);
    for (size_t i = 0; i < g.data.size(); ++i) {
      const double gv = std::ldexp(g.data[i] / s_out[i], shift);
      const double bv = b ? std::ldexp(b->data[i] / s_out[i], shift) : 0.0;
      if (std::abs(gv) > std::ldexp(1.0, 36) || std::abs(bv) > std::ldexp(1.0, 40)) {
        return absl::OutOfRangeError(absl::StrCat("convert: ", src, " gamma or beta too large"));
      }
      gi[i] = std::llround(gv);
      bi[i] = std::llround(bv);
    }
    const int64_t n = static_cast<int64_t>(gi.size());
    t_.push_back({name + ".g", "I64", {n}, TensorBytes(gi)});
    t_.push_back({name + ".b", "I64", {n}, TensorBytes(bi)});
    const std::vector<int64_t> eps = {std::llround(std::min(eps_units, std::ldexp(1.0, 50)))};
    t_.push_back({name + ".eps", "I64", {1}, TensorBytes(eps)});
    return absl::OkStatus();
  }

  void Residual(const std::string& name, const FloatTensor& f, int64_t rows, double unit) {
    const int64_t d = f.shape[1];
    std::vector<int32_t> v(rows * d);
    for (int64_t i = 0; i < rows * d; ++i) {
      v[i] = static_cast<int32_t>(std::clamp<double>(std::nearbyint(f.data[i] / unit), -(1 << 24), 1 << 24));
    }
    t_.push_back({name, "I32", {rows, d}, TensorBytes(v)});
  }

 private:
  const Checkpoint& ck_;
  std::vector<TensorData> t_;
};

// The windows a token sequence is run in: chunks of the codec's size, each
// after the BOS when there is one.
std::vector<std::vector<uint32_t>> Windows(const std::vector<uint32_t>& ids, const HfIntConfig& c) {
  std::vector<std::vector<uint32_t>> w;
  const size_t n = static_cast<size_t>(c.chunk_tokens());
  for (size_t b = 0; b < ids.size(); b += n) {
    std::vector<uint32_t> one;
    if (c.bos >= 0) one.push_back(static_cast<uint32_t>(c.bos));
    one.insert(one.end(), ids.begin() + b, ids.begin() + std::min(ids.size(), b + n));
    w.push_back(std::move(one));
  }
  return w;
}

// Per-channel steps for a norm's output that feeds the layers `srcs`
// (SmoothQuant): channel k is divided by a_k^alpha / w_k^(1-alpha), a_k its
// largest |value| on the calibration text and w_k the largest |weight| that
// reads it, which moves outlier channels' range into the weights; then one
// int8 step covers the smoothed channels. Without smoothing every channel
// gets the same step. Returns the step of each channel.
std::vector<double> NormSteps(const Checkpoint& ck, const Ranges& r, const std::string& point,
                              const std::vector<std::string>& srcs, double alpha, bool smooth) {
  const std::span<const double> a = r.Channels(point);
  const size_t d = Weight(ck, srcs[0]).shape[1];
  std::vector<double> factor(d, 1.0);
  if (smooth) {
    std::vector<double> w(d, 1e-8);
    for (const std::string& src : srcs) {
      const FloatTensor& t = Weight(ck, src);
      for (size_t i = 0; i < t.data.size(); ++i) w[i % d] = std::max<double>(w[i % d], std::abs(t.data[i]));
    }
    for (size_t k = 0; k < d; ++k) {
      const double ak = std::max(k < a.size() ? a[k] : 0.0, 1e-8);
      factor[k] = std::pow(ak, alpha) / std::pow(w[k], 1 - alpha);
    }
  }
  double peak = 1e-8;  // the largest smoothed value
  for (size_t k = 0; k < d; ++k) peak = std::max(peak, (k < a.size() ? a[k] : 0.0) / factor[k]);
  std::vector<double> steps(d);
  for (size_t k = 0; k < d; ++k) steps[k] = factor[k] * peak / 127.0;
  return steps;
}

}  // namespace

std::string_view DefaultCalibrationText() { return kDefaultCalibration; }

absl::StatusOr<std::string> Convert(const Checkpoint& ck, const std::string& tokenizer_json,
                                    const ConvertOptions& opt, FloatRun* calibration) {
  const HfConfig& hc = ck.config();
  for (const auto& [name, t] : ck.tensors()) {
    for (float x : t.data) {
      if (!std::isfinite(x)) {
        return absl::InvalidArgumentError(absl::StrCat("convert: ", name, " holds NaN or infinity"));
      }
    }
  }
  LMC_ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, tokenizer::Tokenizer::FromJson(tokenizer_json));
  if (tok.vocab_size() > static_cast<uint32_t>(hc.vocab_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "convert: the tokenizer has ", tok.vocab_size(), " tokens, the model only ", hc.vocab_size));
  }
  HfIntConfig c;
  c.gpt2 = hc.architecture == HfArchitecture::kGpt2;
  c.source = hc.name;
  c.vocab_size = hc.vocab_size;
  c.d_model = hc.d_model;
  c.n_layers = hc.n_layers;
  c.n_heads = hc.n_heads;
  c.n_kv_heads = hc.n_kv_heads;
  c.head_dim = hc.head_dim;
  c.d_ff = hc.d_ff;
  c.context = c.gpt2 ? std::min(opt.context, hc.max_positions) : opt.context;
  c.bos = hc.bos_token_id;
  if (c.context < 2 || c.context > (1 << 16)) {
    return absl::InvalidArgumentError("convert: the context must be 2..65536 positions");
  }
  c.exp_table_size = ExpTableSizeToZero(c.score_unit, c.exp_bits);
  // Round-trip through the checks a loader applies.
  LMC_ASSIGN_OR_RETURN(c, HfIntConfig::FromJson(c.ToJson()));

  // Calibration: the float model over the sample text, in the codec's windows.
  std::vector<uint32_t> ids = tok.Encode(opt.calibration.empty() ? DefaultCalibrationText() : opt.calibration);
  if (ids.size() > static_cast<size_t>(opt.calibration_tokens)) ids.resize(opt.calibration_tokens);
  if (ids.empty()) return absl::InvalidArgumentError("convert: the calibration text is empty");
  FloatModel fm(ck);
  Ranges r;
  FloatRun run;
  run.windows = Windows(ids, c);
  for (const auto& w : run.windows) {
    LMC_ASSIGN_OR_RETURN(std::vector<float> logits,
                         fm.Logits(w, [&](std::string_view p, std::span<const double> v) { r.See(p, v); }));
    run.logits.push_back(std::move(logits));
  }
  if (calibration != nullptr) *calibration = std::move(run);

  Writer out(ck);
  const double unit = r.Max("resid") / (1 << 22);  // the residual stream's step
  const double eps_units = hc.norm_eps / (unit * unit);
  const int G = c.norm_shift;
  {
    LMC_ASSIGN_OR_RETURN(QuantLinear e, QuantizeLinear("embed", Doubles(ck.tensor("embed")), c.vocab_size,
                                                       c.d_model, {}, 1.0, unit));
    AppendLinear("embed", e, &out.tensors());
  }
  if (c.gpt2) out.Residual("pos_embed", ck.tensor("pos_embed"), c.context, unit);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string src = absl::StrCat("layers.", i, "."), p = absl::StrCat("l", i, ".");
    const double s_q = r.Step(src + "q"), s_k = r.Step(src + "k");
    const std::vector<double> s_an = NormSteps(ck, r, src + "attn_norm", {src + "q", src + "k", src + "v"},
                                               opt.smooth_alpha, opt.smooth);
    const std::vector<double> s_mn =
        NormSteps(ck, r, src + "mlp_norm", c.gpt2 ? std::vector<std::string>{src + "up"}
                                                  : std::vector<std::string>{src + "gate", src + "up"},
                  opt.smooth_alpha, opt.smooth);
    // v: a step per channel (its rows' own multipliers); attention averages v,
    // so the o projection reads the same per-channel steps.
    std::vector<double> s_v(r.Channels(src + "v").begin(), r.Channels(src + "v").end());
    s_v.resize(static_cast<size_t>(c.n_kv_heads) * c.head_dim, 0.0);
    for (double& x : s_v) x = opt.smooth ? std::max(x, 1e-8) / 127.0 : r.Step(src + "v");
    std::vector<double> s_att(static_cast<size_t>(c.n_heads) * c.head_dim);  // o's input, per query head
    for (size_t i = 0; i < s_att.size(); ++i) {
      const size_t head = i / c.head_dim, kv = head / (c.n_heads / c.n_kv_heads);
      s_att[i] = s_v[kv * c.head_dim + i % c.head_dim];
    }
    LMC_RETURN_IF_ERROR(out.Norm(p + "attn_norm", src + "attn_norm", s_an, eps_units, G));
    LMC_RETURN_IF_ERROR(out.Norm(p + "mlp_norm", src + "mlp_norm", s_mn, eps_units, G));
    LMC_RETURN_IF_ERROR(out.Linear(p + "q", src + "q", s_an, s_q));
    LMC_RETURN_IF_ERROR(out.Linear(p + "k", src + "k", s_an, s_k));
    LMC_RETURN_IF_ERROR(out.Linear(p + "v", src + "v", s_an, s_v));
    const double score_ratio = s_q * s_k / std::sqrt(double(c.head_dim)) * c.score_unit;
    LMC_RETURN_IF_ERROR(AppendMultipliers(p + "score", {&score_ratio, 1}, true, &out.tensors()));
    LMC_RETURN_IF_ERROR(out.Linear(p + "o", src + "o", s_att, unit));
    std::vector<int32_t> act(255);
    std::vector<double> s_hidden;  // steps of the down projection's input channels
    if (c.gpt2) {
      const double s_up = r.Step(src + "up");
      s_hidden.assign(1, r.Step(src + "act"));
      LMC_RETURN_IF_ERROR(out.Linear(p + "up", src + "up", s_mn, s_up));
      for (int z = -127; z <= 127; ++z) {
        act[z + 127] = static_cast<int32_t>(
            std::clamp<double>(std::nearbyint(GeluTanh(z * s_up) / s_hidden[0]), -127, 127));
      }
    } else {
      const double s_g = r.Step(src + "gate"), s_u = r.Step(src + "up");
      // silu(gate) * up: a step per channel (its own multiplier), read by down.
      s_hidden.assign(r.Channels(src + "glu").begin(), r.Channels(src + "glu").end());
      s_hidden.resize(c.d_ff, 0.0);
      for (double& x : s_hidden) x = opt.smooth ? std::max(x, 1e-8) / 127.0 : r.Step(src + "glu");
      LMC_RETURN_IF_ERROR(out.Linear(p + "gate", src + "gate", s_mn, s_g));
      LMC_RETURN_IF_ERROR(out.Linear(p + "up", src + "up", s_mn, s_u));
      double peak = 1e-30;
      for (int z = -127; z <= 127; ++z) peak = std::max(peak, std::abs(Silu(z * s_g)));
      const double s_silu = peak / (1 << 15);
      for (int z = -127; z <= 127; ++z) act[z + 127] = static_cast<int32_t>(std::nearbyint(Silu(z * s_g) / s_silu));
      std::vector<double> ratios(c.d_ff);
      for (int i = 0; i < c.d_ff; ++i) ratios[i] = s_silu * s_u / s_hidden[i];
      LMC_RETURN_IF_ERROR(AppendMultipliers(p + "glu", ratios, false, &out.tensors()));
    }
    out.tensors().push_back({p + "act", "I32", {255}, TensorBytes(act)});
    LMC_RETURN_IF_ERROR(out.Linear(p + "down", src + "down", s_hidden, unit));
  }
  const std::vector<double> s_f = NormSteps(ck, r, "final_norm", {"head"}, opt.smooth_alpha, opt.smooth);
  LMC_RETURN_IF_ERROR(out.Norm("final_norm", "final_norm", s_f, eps_units, G));
  LMC_RETURN_IF_ERROR(out.Linear("head", "head", s_f, 1.0 / c.score_unit));
  if (!c.gpt2) {
    const std::vector<double> inv = RopeInverseFrequencies(hc);
    const int half = c.head_dim / 2;
    std::vector<int32_t> cs(static_cast<size_t>(c.context) * half), sn(cs.size());
    for (int pos = 0; pos < c.context; ++pos) {
      for (int i = 0; i < half; ++i) {
        const double a = pos * inv[i];
        cs[pos * half + i] = static_cast<int32_t>(std::llround(std::ldexp(std::cos(a), c.rope_bits)));
        sn[pos * half + i] = static_cast<int32_t>(std::llround(std::ldexp(std::sin(a), c.rope_bits)));
      }
    }
    out.tensors().push_back({"rope_cos", "I32", {c.context, half}, TensorBytes(cs)});
    out.tensors().push_back({"rope_sin", "I32", {c.context, half}, TensorBytes(sn)});
  }
  const std::vector<int32_t> table = ExpTable(c.score_unit, c.exp_bits, c.exp_table_size);
  out.tensors().push_back({"exp_table", "I32", {c.exp_table_size}, TensorBytes(table)});
  return SerializeSafetensors(std::move(out.tensors()),
                              {{kHfIntConfigKey, c.ToJson()}, {kHfIntTokenizerKey, tokenizer_json}});
}

absl::StatusOr<ConversionQuality> MeasureConversion(const Checkpoint& ck, const HfIntModel& m,
                                                    const std::vector<uint32_t>& ids) {
  FloatModel fm(ck);
  FloatRun run;
  run.windows = Windows(ids, m.config());
  for (const auto& w : run.windows) {
    LMC_ASSIGN_OR_RETURN(std::vector<float> logits, fm.Logits(w));
    run.logits.push_back(std::move(logits));
  }
  return MeasureConversion(m, run);
}

ConversionQuality MeasureConversion(const HfIntModel& m, const FloatRun& run) {
  const HfIntConfig& c = m.config();
  const int64_t V = c.vocab_size;
  ConversionQuality q;
  for (size_t wi = 0; wi < run.windows.size(); ++wi) {
    const std::vector<uint32_t>& w = run.windows[wi];
    const std::vector<float>& fl = run.logits[wi];
    HfSession s(m);
    TokenCoder coder(m.exp_table);
    std::vector<int32_t> logits;
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      s.Feed(w[i], &logits);
      const uint32_t next = w[i + 1];
      const float* row = &fl[i * V];
      const double mx = *std::max_element(row, row + V);
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
      q.float_bits += (std::log(z) - (double(row[next]) - mx)) / std::log(2.0);
      {  // KL(float || integer) over the whole vocabulary
        const double imx = *std::max_element(logits.begin(), logits.end()) / double(c.score_unit);
        double iz = 0;
        for (int64_t v = 0; v < V; ++v) iz += std::exp(logits[v] / double(c.score_unit) - imx);
        double kl = 0;
        for (int64_t v = 0; v < V; ++v) {
          const double lf = double(row[v]) - mx - std::log(z);
          const double li = logits[v] / double(c.score_unit) - imx - std::log(iz);
          kl += std::exp(lf) * (lf - li);
        }
        q.kl_bits += kl / std::log(2.0);
      }
      coder.SetLogits(logits);
      double p = 1;
      const uint32_t page = next >> kTokenPageBits;
      if (!coder.PageTable().empty()) p *= coder.PageTable()[page] / double(kTotal);
      const std::vector<uint32_t>& in = coder.InPageTable(static_cast<int>(page));
      if (in.size() > 1) p *= in[next & (kTokenPage - 1)] / double(kTotal);
      q.integer_bits -= std::log2(p);
      ++q.tokens;
    }
  }
  return q;
}

}  // namespace lmc::hf
