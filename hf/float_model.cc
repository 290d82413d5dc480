#include "hf/float_model.h"

#include <cmath>
#include <numbers>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/parallel.h"

namespace lmc::hf {
namespace {

using Vec = std::vector<double>;

// ys[p] = W xs[p] (+ b) for every position p: each weight row is read once for
// all positions (the weights, not the activations, are what is large), on all
// cores. W is [out][in]; each dot product sums in input order.
std::vector<Vec> LinearRows(const FloatTensor& w, const std::vector<Vec>& xs,
                            const FloatTensor* b = nullptr) {
  const int64_t out = w.shape[0], in = w.shape[1];
  std::vector<Vec> ys(xs.size(), Vec(out));
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ParallelGroups(static_cast<size_t>(out), 64, threads, [&](size_t begin, size_t end) {
    constexpr size_t kLanes = 8;  // positions at once: independent sums, one row read
    for (size_t o = begin; o < end; ++o) {
      const float* row = &w.data[o * in];
      const double bias = b ? b->data[o] : 0.0;
      size_t p = 0;
      for (; p + kLanes <= xs.size(); p += kLanes) {
        double s[kLanes] = {};
        for (int64_t i = 0; i < in; ++i) {
          const double r = row[i];
          for (size_t j = 0; j < kLanes; ++j) s[j] += r * xs[p + j][i];
        }
        for (size_t j = 0; j < kLanes; ++j) ys[p + j][o] = s[j] + bias;
      }
      for (; p < xs.size(); ++p) {
        double s = 0;
        for (int64_t i = 0; i < in; ++i) s += double{row[i]} * xs[p][i];
        ys[p][o] = s + bias;
      }
    }
  });
  return ys;
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
  const auto norm_all = [&](const std::vector<Vec>& xs, const std::string& n) {
    std::vector<Vec> hs;
    for (const Vec& v : xs) hs.push_back(norm(v, n));
    return hs;
  };
  const auto see_all = [&](const std::string& point, const std::vector<Vec>& vs) {
    for (const Vec& v : vs) see(point, v);
  };
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const std::string l = absl::StrCat("layers.", layer, ".");
    const auto bias = [&](const std::string& n) { return ck_.has(l + n) ? &t(l + n) : nullptr; };
    const std::vector<Vec> hs = norm_all(x, l + "attn_norm");
    std::vector<Vec> q = LinearRows(t(l + "q.w"), hs, bias("q.b"));
    std::vector<Vec> k = LinearRows(t(l + "k.w"), hs, bias("k.b"));
    const std::vector<Vec> v = LinearRows(t(l + "v.w"), hs, bias("v.b"));
    see_all(l + "attn_norm", hs);
    see_all(l + "q", q);
    see_all(l + "k", k);
    see_all(l + "v", v);
    if (!gpt2) {
      for (int64_t p = 0; p < T; ++p) {
        for (int h2 = 0; h2 < c.n_heads; ++h2) Rotate(&q[p][h2 * hd], hd, inv_freq, p);
        for (int h2 = 0; h2 < c.n_kv_heads; ++h2) Rotate(&k[p][h2 * hd], hd, inv_freq, p);
      }
    }
    const double scale = 1 / std::sqrt(static_cast<double>(hd));
    std::vector<Vec> atts(T, Vec(int64_t{c.n_heads} * hd, 0.0));
    for (int64_t p = 0; p < T; ++p) {
      Vec& att = atts[p];
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
    }
    const std::vector<Vec> os = LinearRows(t(l + "o.w"), atts, bias("o.b"));
    for (int64_t p = 0; p < T; ++p) {
      for (int64_t i = 0; i < d; ++i) x[p][i] += os[p][i];
    }
    see_all("resid", x);
    const std::vector<Vec> h = norm_all(x, l + "mlp_norm");
    see_all(l + "mlp_norm", h);
    std::vector<Vec> m;
    if (gpt2) {
      m = LinearRows(t(l + "up.w"), h, &t(l + "up.b"));
      see_all(l + "up", m);
      for (Vec& row : m) {
        for (double& e : row) e = GeluTanh(e);
      }
      see_all(l + "act", m);
    } else {
      const std::vector<Vec> g = LinearRows(t(l + "gate.w"), h), u = LinearRows(t(l + "up.w"), h);
      see_all(l + "gate", g);
      see_all(l + "up", u);
      m = u;
      for (int64_t p = 0; p < T; ++p) {
        for (size_t i = 0; i < m[p].size(); ++i) m[p][i] = Silu(g[p][i]) * u[p][i];
      }
      see_all(l + "glu", m);
    }
    const std::vector<Vec> down = LinearRows(t(l + "down.w"), m, bias("down.b"));
    for (int64_t p = 0; p < T; ++p) {
      for (int64_t i = 0; i < d; ++i) x[p][i] += down[p][i];
    }
    see_all("resid", x);
  }
  const std::vector<Vec> z = norm_all(x, "final_norm");
  see_all("final_norm", z);
  const std::vector<Vec> y = LinearRows(t("head"), z);
  std::vector<float> logits(T * c.vocab_size);
  for (int64_t p = 0; p < T; ++p) {
    for (int64_t i = 0; i < c.vocab_size; ++i) logits[p * c.vocab_size + i] = static_cast<float>(y[p][i]);
  }
  return logits;
}

}  // namespace lmc::hf
