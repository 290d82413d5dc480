#include "hf/float_model.h"

#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"

namespace lmc::hf {
namespace {

using Vec = std::vector<double>;

// y = W x (+ b), W [out][in].
Vec Linear(const FloatTensor& w, const Vec& x, const FloatTensor* b = nullptr) {
  const int64_t out = w.shape[0], in = w.shape[1];
  Vec y(out);
  for (int64_t o = 0; o < out; ++o) {
    const float* row = &w.data[o * in];
    double s = 0;
    for (int64_t i = 0; i < in; ++i) s += double{row[i]} * x[i];
    y[o] = s + (b ? b->data[o] : 0.0);
  }
  return y;
}

Vec LayerNorm(const Vec& x, const FloatTensor& w, const FloatTensor& b, double eps) {
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= x.size();
  for (double v : x) var += (v - mean) * (v - mean);
  var /= x.size();
  const double r = 1 / std::sqrt(var + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) * r * w.data[i] + b.data[i];
  return y;
}

Vec RmsNorm(const Vec& x, const FloatTensor& w, double eps) {
  double ms = 0;
  for (double v : x) ms += v * v;
  const double r = 1 / std::sqrt(ms / x.size() + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * w.data[i];
  return y;
}

// q_embed = q cos + rotate_half(q) sin, rotate_half(x) = (-x2, x1) over the
// head's two halves (transformers' convention, not interleaved pairs).
void Rotate(double* v, int hd, const Vec& inv_freq, int64_t pos) {
  const int half = hd / 2;
  for (int i = 0; i < half; ++i) {
    const double a = pos * inv_freq[i], c = std::cos(a), s = std::sin(a);
    const double x1 = v[i], x2 = v[i + half];
    v[i] = x1 * c - x2 * s;
    v[i + half] = x2 * c + x1 * s;
  }
}

}  // namespace

double GeluTanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
}

double Silu(double x) { return x / (1 + std::exp(-x)); }

std::vector<double> RopeInverseFrequencies(const HfConfig& c) {
  const int half = c.head_dim / 2;
  std::vector<double> f(half);
  for (int i = 0; i < half; ++i) f[i] = 1 / std::pow(c.rope_theta, 2.0 * i / c.head_dim);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == "linear") {
    for (double& x : f) x /= s.factor;
  } else if (s.type == "llama3") {
    const double low_wavelen = s.original_max_positions / s.low_freq_factor;
    const double high_wavelen = s.original_max_positions / s.high_freq_factor;
    for (double& x : f) {
      const double wavelen = 2 * std::numbers::pi / x;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        x /= s.factor;
      } else {
        const double smooth = (s.original_max_positions / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        x = (1 - smooth) * x / s.factor + smooth * x;
      }
    }
  }
  return f;
}

absl::StatusOr<std::vector<float>> FloatModel::Logits(std::span<const uint32_t> ids,
                                                     const Observer& observe) const {
  const HfConfig& c = ck_.config();
  const bool gpt2 = c.architecture == HfArchitecture::kGpt2;
  const int64_t T = static_cast<int64_t>(ids.size()), d = c.d_model, hd = c.head_dim;
  if (gpt2 && T > c.max_positions) {
    return absl::InvalidArgumentError(
        absl::StrCat(T, " tokens exceed the model's ", c.max_positions, " positions"));
  }
  const auto t = [&](const std::string& name) -> const FloatTensor& { return ck_.tensor(name); };
  const FloatTensor& embed = t("embed");
  std::vector<Vec> x(T, Vec(d));
  for (int64_t p = 0; p < T; ++p) {
    if (ids[p] >= static_cast<uint32_t>(c.vocab_size)) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", ids[p], " is outside the vocabulary"));
    }
    for (int64_t i = 0; i < d; ++i) {
      x[p][i] = embed.data[ids[p] * d + i] + (gpt2 ? t("pos_embed").data[p * d + i] : 0.0);
    }
  }
  const auto see = [&](const std::string& point, const Vec& v) {
    if (observe) observe(point, v);
  };
  for (const Vec& v : x) see("resid", v);
  const Vec inv_freq = gpt2 ? Vec() : RopeInverseFrequencies(c);
  const int group = c.n_heads / c.n_kv_heads;
  const auto norm = [&](const Vec& v, const std::string& n) {
    return gpt2 ? LayerNorm(v, t(n + ".w"), t(n + ".b"), c.norm_eps) : RmsNorm(v, t(n + ".w"), c.norm_eps);
  };
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const std::string l = absl::StrCat("layers.", layer, ".");
    const auto bias = [&](const std::string& n) { return ck_.has(l + n) ? &t(l + n) : nullptr; };
    std::vector<Vec> q(T), k(T), v(T);
    for (int64_t p = 0; p < T; ++p) {
      const Vec h = norm(x[p], l + "attn_norm");
      q[p] = Linear(t(l + "q.w"), h, bias("q.b"));
      k[p] = Linear(t(l + "k.w"), h, bias("k.b"));
      v[p] = Linear(t(l + "v.w"), h, bias("v.b"));
      see(l + "attn_norm", h);
      see(l + "q", q[p]);
      see(l + "k", k[p]);
      see(l + "v", v[p]);
      if (!gpt2) {
        for (int h2 = 0; h2 < c.n_heads; ++h2) Rotate(&q[p][h2 * hd], hd, inv_freq, p);
        for (int h2 = 0; h2 < c.n_kv_heads; ++h2) Rotate(&k[p][h2 * hd], hd, inv_freq, p);
      }
    }
    const double scale = 1 / std::sqrt(static_cast<double>(hd));
    for (int64_t p = 0; p < T; ++p) {
      Vec att(int64_t{c.n_heads} * hd, 0.0);
      for (int h2 = 0; h2 < c.n_heads; ++h2) {
        const int64_t kvh = h2 / group;
        Vec s(p + 1);
        double mx = -1e300;
        for (int64_t j = 0; j <= p; ++j) {
          double dot = 0;
          for (int64_t i = 0; i < hd; ++i) dot += q[p][h2 * hd + i] * k[j][kvh * hd + i];
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int64_t j = 0; j <= p; ++j) {
          for (int64_t i = 0; i < hd; ++i) att[h2 * hd + i] += s[j] / sum * v[j][kvh * hd + i];
        }
      }
      const Vec o = Linear(t(l + "o.w"), att, bias("o.b"));
      for (int64_t i = 0; i < d; ++i) x[p][i] += o[i];
      see("resid", x[p]);
      const Vec h = norm(x[p], l + "mlp_norm");
      see(l + "mlp_norm", h);
      Vec m;
      if (gpt2) {
        m = Linear(t(l + "up.w"), h, &t(l + "up.b"));
        see(l + "up", m);
        for (double& e : m) e = GeluTanh(e);
        see(l + "act", m);
      } else {
        const Vec g = Linear(t(l + "gate.w"), h), u = Linear(t(l + "up.w"), h);
        see(l + "gate", g);
        see(l + "up", u);
        m.resize(g.size());
        for (size_t i = 0; i < g.size(); ++i) m[i] = Silu(g[i]) * u[i];
        see(l + "glu", m);
      }
      const Vec down = Linear(t(l + "down.w"), m, bias("down.b"));
      for (int64_t i = 0; i < d; ++i) x[p][i] += down[i];
      see("resid", x[p]);
    }
  }
  std::vector<float> logits(T * c.vocab_size);
  for (int64_t p = 0; p < T; ++p) {
    const Vec z = norm(x[p], "final_norm");
    see("final_norm", z);
    const Vec y = Linear(t("head"), z);
    for (int64_t i = 0; i < c.vocab_size; ++i) logits[p * c.vocab_size + i] = static_cast<float>(y[i]);
  }
  return logits;
}

}  // namespace lmc::hf
