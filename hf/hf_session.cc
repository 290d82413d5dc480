#include "hf/hf_session.h"

#include <algorithm>

#include "model/kernels.h"

namespace lmc::hf {
namespace {

using kernels::RoundDiv;
using kernels::RoundShift;

constexpr int64_t kResidLimit = int64_t{1} << 24;
constexpr int64_t kScoreLimit = int64_t{1} << 30;

// out8 = clamp(L(in8), -127, 127).
void LinearInt8(const QuantLinear& l, const int8_t* in, std::vector<int32_t>* acc, int8_t* out) {
  acc->resize(l.rows);
  kernels::MatMul(in, 1, l.packed, acc->data());
  kernels::RequantInt8(acc->data(), 1, l.rows, l.m.data(), l.s.data(), l.b.data(), -127, out);
}

// x = clamp(x + L(in8), -limit, limit).
void LinearAdd(const QuantLinear& l, const int8_t* in, int64_t limit, std::vector<int32_t>* acc,
               int32_t* x) {
  acc->resize(l.rows);
  kernels::MatMul(in, 1, l.packed, acc->data());
  kernels::RequantAddResidual(acc->data(), 1, l.rows, l.m.data(), l.s.data(), l.b.data(), limit,
                              x);
}

}  // namespace

HfSession::HfSession(const HfIntModel& model) : m_(model), c_(model.config()) {
  const int kvd = c_.n_kv_heads * c_.head_dim, qd = c_.n_heads * c_.head_dim;
  x_.resize(c_.d_model);
  k_.assign(c_.n_layers, std::vector<int32_t>(static_cast<size_t>(c_.context) * kvd));
  v_.assign(c_.n_layers, std::vector<int8_t>(static_cast<size_t>(c_.context) * kvd));
  z_.resize(c_.d_model);
  q8_.resize(qd);
  k8_.resize(kvd);
  v8_.resize(kvd);
  att_.resize(qd);
  a8_.resize(c_.d_ff);
  g8_.resize(c_.d_ff);
  q_.resize(qd);
  scores_.resize(c_.context);
  e_.resize(c_.context);
}

void HfSession::Norm(const IntNorm& n, int8_t* z) const {
  const int d = c_.d_model;
  int64_t mean = 0;
  if (c_.gpt2) {
    int64_t sum = 0;
    for (int i = 0; i < d; ++i) sum += x_[i];
    mean = RoundDiv(sum, d);
  }
  __int128 sq = 0;
  for (int i = 0; i < d; ++i) {
    const int64_t c = x_[i] - mean;
    sq += static_cast<__int128>(c * c);
  }
  const uint64_t var = static_cast<uint64_t>(sq / d);
  const int64_t den =
      std::max<int64_t>(1, static_cast<int64_t>(kernels::ISqrt(var + static_cast<uint64_t>(n.eps))));
  for (int i = 0; i < d; ++i) {
    const int64_t c = x_[i] - mean;
    const int64_t v = RoundShift(RoundDiv(c * n.g[i], den) + n.b[i], c_.norm_shift);
    z[i] = static_cast<int8_t>(std::clamp<int64_t>(v, -127, 127));
  }
}

void HfSession::Attention(const HfIntLayer& l, int layer) {
  const int hd = c_.head_dim, half = hd / 2, kvd = c_.n_kv_heads * hd;
  const int group = c_.n_heads / c_.n_kv_heads;
  Norm(l.attn_norm, z_.data());
  LinearInt8(l.q, z_.data(), &acc_, q8_.data());
  LinearInt8(l.k, z_.data(), &acc_, k8_.data());
  LinearInt8(l.v, z_.data(), &acc_, v8_.data());
  int32_t* kc = &k_[layer][static_cast<size_t>(pos_) * kvd];
  std::copy(v8_.begin(), v8_.end(), &v_[layer][static_cast<size_t>(pos_) * kvd]);
  if (c_.gpt2) {
    std::copy(q8_.begin(), q8_.end(), q_.begin());
    std::copy(k8_.begin(), k8_.end(), kc);
  } else {
    // x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin over each head's two halves.
    const int32_t* cs = &m_.rope_cos[static_cast<size_t>(pos_) * half];
    const int32_t* sn = &m_.rope_sin[static_cast<size_t>(pos_) * half];
    const auto rotate = [&](const int8_t* in, int heads, int32_t* out) {
      for (int h = 0; h < heads; ++h) {
        for (int i = 0; i < half; ++i) {
          const int64_t a = in[h * hd + i], b = in[h * hd + i + half];
          out[h * hd + i] = static_cast<int32_t>(RoundShift(a * cs[i] - b * sn[i], c_.rope_bits));
          out[h * hd + i + half] =
              static_cast<int32_t>(RoundShift(b * cs[i] + a * sn[i], c_.rope_bits));
        }
      }
    };
    rotate(q8_.data(), c_.n_heads, q_.data());
    rotate(k8_.data(), c_.n_kv_heads, kc);
  }
  const int n = pos_ + 1;
  for (int h = 0; h < c_.n_heads; ++h) {
    const int kv = (h / group) * hd;
    const int32_t* q = &q_[h * hd];
    int64_t mx = -kScoreLimit;
    for (int j = 0; j < n; ++j) {
      const int32_t* k = &k_[layer][static_cast<size_t>(j) * kvd + kv];
      int64_t dot = 0;
      for (int i = 0; i < hd; ++i) dot += int64_t{q[i]} * k[i];
      const int64_t s = std::clamp(RoundShift(dot * l.score_m, l.score_s), -kScoreLimit, kScoreLimit);
      scores_[j] = static_cast<int32_t>(s);
      mx = std::max(mx, s);
    }
    int64_t sum = 0;
    for (int j = 0; j < n; ++j) {
      const int64_t idx = mx - scores_[j];
      e_[j] = idx < c_.exp_table_size ? m_.exp_table[idx] : 0;
      sum += e_[j];
    }
    for (int i = 0; i < hd; ++i) {
      int64_t acc = 0;
      for (int j = 0; j < n; ++j) acc += e_[j] * v_[layer][static_cast<size_t>(j) * kvd + kv + i];
      att_[h * hd + i] = static_cast<int8_t>(std::clamp<int64_t>(RoundDiv(acc, sum), -127, 127));
    }
  }
  LinearAdd(l.o, att_.data(), kResidLimit, &acc_, x_.data());
}

void HfSession::Mlp(const HfIntLayer& l) {
  Norm(l.mlp_norm, z_.data());
  LinearInt8(l.up, z_.data(), &acc_, a8_.data());
  if (c_.gpt2) {
    for (int i = 0; i < c_.d_ff; ++i) a8_[i] = static_cast<int8_t>(l.act[a8_[i] + 127]);
  } else {
    LinearInt8(l.gate, z_.data(), &acc_, g8_.data());
    for (int i = 0; i < c_.d_ff; ++i) {
      const int64_t p = int64_t{l.act[g8_[i] + 127]} * a8_[i];
      a8_[i] = static_cast<int8_t>(std::clamp<int64_t>(RoundShift(p * l.glu_m, l.glu_s), -127, 127));
    }
  }
  LinearAdd(l.down, a8_.data(), kResidLimit, &acc_, x_.data());
}

void HfSession::Feed(uint32_t token, std::vector<int32_t>* logits) {
  const int d = c_.d_model;
  for (int i = 0; i < d; ++i) {
    int64_t v = m_.embed[static_cast<size_t>(token) * d + i];
    if (c_.gpt2) v += m_.pos_embed[static_cast<size_t>(pos_) * d + i];
    x_[i] = static_cast<int32_t>(std::clamp(v, -kResidLimit, kResidLimit));
  }
  for (int layer = 0; layer < c_.n_layers; ++layer) {
    Attention(m_.layers[layer], layer);
    Mlp(m_.layers[layer]);
  }
  Norm(m_.final_norm, z_.data());
  logits->assign(c_.vocab_size, 0);
  LinearAdd(m_.head, z_.data(), kScoreLimit, &acc_, logits->data());
  ++pos_;
}

}  // namespace lmc::hf
