#include "hf/hf_session.h"

#include <algorithm>

#include "model/kernels.h"

namespace lmc::hf {
namespace {

using kernels::RoundDiv;
using kernels::RoundShift;

constexpr int64_t kResidLimit = int64_t{1} << 24;
constexpr int64_t kScoreLimit = int64_t{1} << 30;

// out8[r] = clamp(L(in8[r]), -127, 127) for `rows` rows.
void LinearInt8(const QuantLinear& l, const int8_t* in, int rows, std::vector<int32_t>* acc,
                int8_t* out) {
  acc->resize(static_cast<size_t>(rows) * l.rows);
  kernels::MatMul(in, rows, l.packed, acc->data());
  kernels::RequantInt8(acc->data(), rows, l.rows, l.m.data(), l.s.data(), l.b.data(), -127, out);
}

// x[r] = clamp(x[r] + L(in8[r]), -limit, limit).
void LinearAdd(const QuantLinear& l, const int8_t* in, int rows, int64_t limit,
               std::vector<int32_t>* acc, int32_t* x) {
  acc->resize(static_cast<size_t>(rows) * l.rows);
  kernels::MatMul(in, rows, l.packed, acc->data());
  kernels::RequantAddResidual(acc->data(), rows, l.rows, l.m.data(), l.s.data(), l.b.data(),
                              limit, x);
}

// The norm of docs/pretrained.md over one residual row.
void Norm(const IntNorm& n, const HfIntConfig& c, const int32_t* x, int8_t* z) {
  const int d = c.d_model;
  int64_t mean = 0;
  if (c.gpt2) {
    int64_t sum = 0;
    for (int i = 0; i < d; ++i) sum += x[i];
    mean = RoundDiv(sum, d);
  }
  __int128 sq = 0;
  for (int i = 0; i < d; ++i) {
    const int64_t v = x[i] - mean;
    sq += static_cast<__int128>(v * v);
  }
  const uint64_t var = static_cast<uint64_t>(sq / d);
  const int64_t den = std::max<int64_t>(
      1, static_cast<int64_t>(kernels::ISqrt(var + static_cast<uint64_t>(n.eps))));
  for (int i = 0; i < d; ++i) {
    const int64_t v = RoundShift(RoundDiv((x[i] - mean) * n.g[i], den) + n.b[i], c.norm_shift);
    z[i] = static_cast<int8_t>(std::clamp<int64_t>(v, -127, 127));
  }
}

void NormRows(const IntNorm& n, const HfIntConfig& c, const std::vector<int32_t>& x, int rows,
              std::vector<int8_t>* z) {
  for (int r = 0; r < rows; ++r) {
    Norm(n, c, &x[static_cast<size_t>(r) * c.d_model], &(*z)[static_cast<size_t>(r) * c.d_model]);
  }
}

// acc[i] += e * v[i]: e <= 2^24 and |v| <= 127, so each product fits int32.
// One clone per instruction set (GCC ifunc), for the vectoriser.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void AddScaled(int32_t e, const int8_t* v, int n, int64_t* acc) {
  for (int i = 0; i < n; ++i) acc[i] += static_cast<int64_t>(e * static_cast<int32_t>(v[i]));
}

// Dot product of two rotated rows: |values| <= 254 and n <= 1024, so the sum
// fits int32.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
int32_t Dot(const int32_t* a, const int32_t* b, int n) {
  int32_t s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

namespace {
// Positions a session holds: `positions`, at most the context; 0: the context.
int Room(const HfIntConfig& c, int positions) {
  return positions > 0 ? std::min(positions, c.context) : c.context;
}
}  // namespace

HfSession::HfSession(const HfIntModel& model, int positions) : m_(model), c_(model.config()) {
  const int room = Room(c_, positions);
  const int kvd = c_.n_kv_heads * c_.head_dim;
  for (int l = 0; l < c_.n_layers; ++l) {
    k_.push_back(std::make_unique_for_overwrite<int32_t[]>(static_cast<size_t>(room) * kvd));
    v_.push_back(std::make_unique_for_overwrite<int8_t[]>(static_cast<size_t>(room) * kvd));
  }
  q_.resize(c_.n_heads * c_.head_dim);
  scores_.resize(room);
}

size_t HfSession::CacheBytes(const HfIntConfig& c, int positions) {
  const size_t room = Room(c, positions);
  return room * c.n_layers * c.n_kv_heads * c.head_dim * (sizeof(int32_t) + sizeof(int8_t));
}

void HfSession::Attend(const HfIntLayer& l, int layer, int pos, const int8_t* q8,
                       const int8_t* k8, const int8_t* v8, int8_t* out) {
  const int hd = c_.head_dim, half = hd / 2, kvd = c_.n_kv_heads * hd;
  const int group = c_.n_heads / c_.n_kv_heads;
  int32_t* kc = &k_[layer][static_cast<size_t>(pos) * kvd];
  std::copy(v8, v8 + kvd, &v_[layer][static_cast<size_t>(pos) * kvd]);
  if (c_.gpt2) {
    std::copy(q8, q8 + c_.n_heads * hd, q_.begin());
    std::copy(k8, k8 + kvd, kc);
  } else {
    // x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin over each head's two halves.
    const int32_t* cs = &m_.rope_cos[static_cast<size_t>(pos) * half];
    const int32_t* sn = &m_.rope_sin[static_cast<size_t>(pos) * half];
    const auto rotate = [&](const int8_t* in, int heads, int32_t* rot) {
      for (int h = 0; h < heads; ++h) {
        for (int i = 0; i < half; ++i) {
          const int64_t a = in[h * hd + i], b = in[h * hd + i + half];
          rot[h * hd + i] = static_cast<int32_t>(RoundShift(a * cs[i] - b * sn[i], c_.rope_bits));
          rot[h * hd + i + half] =
              static_cast<int32_t>(RoundShift(b * cs[i] + a * sn[i], c_.rope_bits));
        }
      }
    };
    rotate(q8, c_.n_heads, q_.data());
    rotate(k8, c_.n_kv_heads, kc);
  }
  const int n = pos + 1;
  const int32_t* keys = k_[layer].get();
  const int8_t* values = v_[layer].get();
  std::vector<int64_t>& acc = acc_;
  acc.resize(hd);
  for (int h = 0; h < c_.n_heads; ++h) {
    const int kv = (h / group) * hd;
    const int32_t* q = &q_[h * hd];
    int64_t mx = -kScoreLimit;
    for (int j = 0; j < n; ++j) {
      const int32_t* k = &keys[static_cast<size_t>(j) * kvd + kv];
      const int32_t dot = Dot(q, k, hd);
      const int64_t s = std::clamp(RoundShift(int64_t{dot} * l.score_m, l.score_s), -kScoreLimit, kScoreLimit);
      scores_[j] = static_cast<int32_t>(s);
      mx = std::max(mx, s);
    }
    int64_t sum = 0;
    std::fill(acc.begin(), acc.end(), 0);
    for (int j = 0; j < n; ++j) {
      const int64_t idx = mx - scores_[j];
      const int32_t e = idx < c_.exp_table_size ? m_.exp_table[idx] : 0;
      if (e == 0) continue;
      sum += e;
      AddScaled(e, &values[static_cast<size_t>(j) * kvd + kv], hd, acc.data());
    }
    for (int i = 0; i < hd; ++i) {
      out[h * hd + i] = static_cast<int8_t>(std::clamp<int64_t>(RoundDiv(acc[i], sum), -127, 127));
    }
  }
}

void HfSession::FeedBatch(std::span<HfSession* const> sessions, std::span<const uint32_t> tokens,
                          std::span<int32_t* const> logits) {
  if (sessions.empty()) return;
  const HfIntModel& m = sessions[0]->m_;
  const HfIntConfig& c = m.config();
  const int rows = static_cast<int>(sessions.size());
  const int d = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  const auto at = [](auto& v, int r, int width) { return &v[static_cast<size_t>(r) * width]; };
  std::vector<int32_t> x(static_cast<size_t>(rows) * d), acc;
  std::vector<int8_t> z(x.size()), q8(static_cast<size_t>(rows) * qd), k8(static_cast<size_t>(rows) * kvd),
      v8(k8.size()), att(q8.size()), a8(static_cast<size_t>(rows) * c.d_ff), g8(a8.size());
  // Each row's position: its session's next, or one past the row before when
  // that row is the same session's.
  std::vector<int> pos(rows);
  for (int r = 0; r < rows; ++r) {
    pos[r] = r > 0 && sessions[r - 1] == sessions[r] ? pos[r - 1] + 1 : sessions[r]->pos_;
  }
  for (int r = 0; r < rows; ++r) {
    for (int i = 0; i < d; ++i) {
      const size_t t = tokens[r];
      int64_t v = RoundShift(int64_t{m.embed.w[t * d + i]} * m.embed.m[t] + m.embed.b[t], m.embed.s[t]);
      if (c.gpt2) v += m.pos_embed[static_cast<size_t>(pos[r]) * d + i];
      x[static_cast<size_t>(r) * d + i] = static_cast<int32_t>(std::clamp(v, -kResidLimit, kResidLimit));
    }
  }
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const HfIntLayer& l = m.layers[layer];
    NormRows(l.attn_norm, c, x, rows, &z);
    LinearInt8(l.q, z.data(), rows, &acc, q8.data());
    LinearInt8(l.k, z.data(), rows, &acc, k8.data());
    LinearInt8(l.v, z.data(), rows, &acc, v8.data());
    for (int r = 0; r < rows; ++r) {
      sessions[r]->Attend(l, layer, pos[r], at(q8, r, qd), at(k8, r, kvd), at(v8, r, kvd),
                          at(att, r, qd));
    }
    LinearAdd(l.o, att.data(), rows, kResidLimit, &acc, x.data());
    NormRows(l.mlp_norm, c, x, rows, &z);
    LinearInt8(l.up, z.data(), rows, &acc, a8.data());
    if (c.gpt2) {
      for (int8_t& a : a8) a = static_cast<int8_t>(l.act[a + 127]);
    } else {
      LinearInt8(l.gate, z.data(), rows, &acc, g8.data());
      for (size_t i = 0; i < a8.size(); ++i) {
        const size_t f = i % c.d_ff;
        const int64_t p = int64_t{l.act[g8[i] + 127]} * a8[i];
        a8[i] = static_cast<int8_t>(std::clamp<int64_t>(RoundShift(p * l.glu_m[f], l.glu_s[f]), -127, 127));
      }
    }
    LinearAdd(l.down, a8.data(), rows, kResidLimit, &acc, x.data());
  }
  NormRows(m.final_norm, c, x, rows, &z);
  // The head's packed width may exceed the vocabulary (zero rows, see
  // HfIntModel::head); each row's first vocab_size outputs are the logits.
  const int width = m.head.packed.cols;
  acc.resize(static_cast<size_t>(rows) * width);
  kernels::MatMul(z.data(), rows, m.head.packed, acc.data());
  for (int r = 0; r < rows; ++r) {
    std::fill_n(logits[r], c.vocab_size, 0);
    kernels::RequantAddResidual(at(acc, r, width), 1, c.vocab_size, m.head.m.data(), m.head.s.data(),
                                m.head.b.data(), kScoreLimit, logits[r]);
    ++sessions[r]->pos_;
  }
}

void HfSession::Feed(uint32_t token, std::vector<int32_t>* logits) {
  logits->resize(c_.vocab_size);
  HfSession* self = this;
  int32_t* out = logits->data();
  FeedBatch({&self, 1}, {&token, 1}, {&out, 1});
}

}  // namespace lmc::hf
