#include "model/attention_kernels.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "model/kernels.h"
#include "model/internal/avx512.h"

namespace lmc::kernels {
namespace {

constexpr int64_t kScoreLimit = int64_t{1} << 30;
int RoundUp(int v, int m) { return (v + m - 1) / m * m; }

LMC_AVX512 void QueryKeyDotsAvx512(const int8_t* q, const uint8_t* keys, int groups, int slots,
                                   int n, int32_t* dot) {
  // vpdpbusd multiplies unsigned by signed bytes: keys + 128 times q, less
  // 128 * sum(q).
  int32_t qsum = 0;
  for (int i = 0; i < 4 * groups; ++i) qsum += q[i];
  const __m512i bias = _mm512_set1_epi32(128 * qsum);
  int t0 = 0;
  for (; t0 + 64 <= n; t0 += 64) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int g = 0; g < groups; ++g) {
      int32_t qv;
      std::memcpy(&qv, q + 4 * g, 4);
      const __m512i qb = _mm512_set1_epi32(qv);
      const uint8_t* row = keys + (size_t(g) * slots + t0) * 4;
      a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(row), qb);
      a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(row + 64), qb);
      a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512(row + 128), qb);
      a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512(row + 192), qb);
    }
    _mm512_storeu_si512(dot + t0, _mm512_sub_epi32(a0, bias));
    _mm512_storeu_si512(dot + t0 + 16, _mm512_sub_epi32(a1, bias));
    _mm512_storeu_si512(dot + t0 + 32, _mm512_sub_epi32(a2, bias));
    _mm512_storeu_si512(dot + t0 + 48, _mm512_sub_epi32(a3, bias));
  }
  for (; t0 < n; t0 += 16) {  // slots is a multiple of 16: the reads stay inside
    __m512i a = _mm512_setzero_si512();
    for (int g = 0; g < groups; ++g) {
      int32_t qv;
      std::memcpy(&qv, q + 4 * g, 4);
      a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512(keys + (size_t(g) * slots + t0) * 4),
                              _mm512_set1_epi32(qv));
    }
    _mm512_storeu_si512(dot + t0, _mm512_sub_epi32(a, bias));
  }
}

// clamp(round_shift(d * m, shift), lo, hi) for 8 int32 lanes d, with m < 2^31
// (so vpmuldq's product is exact) and hi, -lo < 2^31.
LMC_AVX512 inline __m256i ScaledScores(__m256i d, __m512i m, __m512i half, __m128i shift,
                                       __m512i lo, __m512i hi) {
  const __m512i p = _mm512_mul_epi32(_mm512_cvtepi32_epi64(d), m);
  const __m512i s = _mm512_sra_epi64(_mm512_add_epi64(p, half), shift);
  return _mm512_cvtepi64_epi32(_mm512_min_epi64(_mm512_max_epi64(s, lo), hi));
}

LMC_AVX512 int64_t AttentionWeightsAvx512(const int32_t* dot, int n, int slot, int window,
                                          int64_t score_m, int score_s, int64_t alibi,
                                          const int32_t* table, int table_size,
                                          int32_t* weight) {
  // Scores fit int32: the clamped product is within 2^30 and alibi * distance
  // below 2^16 * 2^13. Only the product and its shift need int64 lanes.
  thread_local std::vector<int32_t> scores;
  scores.resize(RoundUp(n, 16));
  const __m512i m = _mm512_set1_epi64(score_m);
  const __m512i half = _mm512_set1_epi64(int64_t{1} << (score_s - 1));
  const __m128i shift = _mm_cvtsi32_si128(score_s);
  const __m512i hi = _mm512_set1_epi64(kScoreLimit), lo = _mm512_set1_epi64(-kScoreLimit);
  const __m512i vslot = _mm512_set1_epi32(slot), vwindow = _mm512_set1_epi32(window);
  const __m512i valibi = _mm512_set1_epi32(static_cast<int32_t>(alibi));
  const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  __m512i vmax = _mm512_set1_epi32(INT32_MIN);
  for (int t0 = 0; t0 < n; t0 += 16) {
    const __mmask16 live = internal::Live16(n, t0);
    const __m512i d = _mm512_maskz_loadu_epi32(live, dot + t0);
    const __m256i s0 = ScaledScores(_mm512_castsi512_si256(d), m, half, shift, lo, hi);
    const __m256i s1 = ScaledScores(_mm512_extracti64x4_epi64(d, 1), m, half, shift, lo, hi);
    __m512i s = _mm512_inserti64x4(_mm512_castsi256_si512(s0), s1, 1);
    const __m512i t = _mm512_add_epi32(_mm512_set1_epi32(t0), iota);
    __m512i dist = _mm512_sub_epi32(vslot, t);
    dist = _mm512_mask_add_epi32(dist, _mm512_cmpgt_epi32_mask(t, vslot), dist, vwindow);
    s = _mm512_sub_epi32(s, _mm512_mullo_epi32(valibi, dist));
    _mm512_storeu_si512(scores.data() + t0, s);
    vmax = _mm512_mask_max_epi32(vmax, live, vmax, s);
  }
  // max - score is below 2^32 (2^30 + 2^30 + 2^29): exact as uint32.
  const __m512i mx = _mm512_set1_epi32(_mm512_reduce_max_epi32(vmax));
  const __m512i size = _mm512_set1_epi32(table_size);
  __m512i sum = _mm512_setzero_si512();
  for (int t0 = 0; t0 < n; t0 += 16) {
    const __mmask16 live = internal::Live16(n, t0);
    const __m512i diff = _mm512_sub_epi32(mx, _mm512_loadu_si512(scores.data() + t0));
    const __mmask16 in_table = live & _mm512_cmplt_epu32_mask(diff, size);
    const __m512i e = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), in_table, diff, table, 4);
    _mm512_mask_storeu_epi32(weight + t0, live, e);
    sum = _mm512_add_epi64(sum, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(e)));
    sum = _mm512_add_epi64(sum, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(e, 1)));
  }
  return _mm512_reduce_add_epi64(sum);
}

// NB blocks of 16 dimensions, four positions at a time with vpdpbusd: the
// weights (below 2^24, or 2^24 with P = 4) as P byte planes times the int8
// values, one int32 sum per plane and dimension. A plane's sum stays within
// 2^31 for 8192 positions (2048 quads * 4 * 255 * 128 < 2^31); the planes are
// weighted by 2^(8p) in int64 at the end.
template <int NB, int P>
LMC_AVX512 void ValueBlocks(const uint8_t* planes, int plane_len, int quads, const int8_t* v,
                            int quad_stride, int64_t* num) {
  __m512i acc[P][NB] = {};  // zeros
  for (int q = 0; q < quads; ++q) {
    __m512i b[P];
    for (int p = 0; p < P; ++p) {
      int32_t x;
      std::memcpy(&x, planes + size_t(p) * plane_len + 4 * q, 4);
      b[p] = _mm512_set1_epi32(x);
    }
    const int8_t* row = v + size_t(q) * quad_stride;
    for (int j = 0; j < NB; ++j) {
      const __m512i x = _mm512_loadu_si512(row + 64 * j);
      for (int p = 0; p < P; ++p) acc[p][j] = _mm512_dpbusd_epi32(acc[p][j], b[p], x);
    }
  }
  for (int j = 0; j < NB; ++j) {
    alignas(64) int32_t sums[P][16];
    for (int p = 0; p < P; ++p) _mm512_store_si512(sums[p], acc[p][j]);
    for (int i = 0; i < 16; ++i) {
      int64_t total = 0;
      for (int p = 0; p < P; ++p) total += int64_t{sums[p][i]} << (8 * p);
      num[16 * j + i] = total;
    }
  }
}

template <int P>
LMC_AVX512 void ValueSums(const uint8_t* planes, int plane_len, int quads, const int8_t* v,
                          int quad_stride, int dims, int64_t* num) {
  int i0 = 0;
  for (; i0 + 64 <= dims; i0 += 64) {
    ValueBlocks<4, P>(planes, plane_len, quads, v + 4 * i0, quad_stride, num + i0);
  }
  for (; i0 + 16 <= dims; i0 += 16) {
    ValueBlocks<1, P>(planes, plane_len, quads, v + 4 * i0, quad_stride, num + i0);
  }
}

LMC_AVX512 void WeightedValueSumAvx512(const int32_t* weight, int n, const int8_t* v,
                                       int quad_stride, int dims, int64_t* num) {
  // Byte p of each weight in plane p, zeros after the last weight; a fourth
  // plane only when some weight is 2^24.
  const int quads = (n + 3) / 4, plane_len = RoundUp(4 * quads, 16);
  thread_local std::vector<uint8_t> planes;
  planes.resize(size_t(4) * plane_len);
  const __m512i byte = _mm512_set1_epi32(255), top = _mm512_set1_epi32(1 << 24);
  __mmask16 any_top = 0;
  for (int t0 = 0; t0 < plane_len; t0 += 16) {
    const __m512i w = _mm512_maskz_loadu_epi32(internal::Live16(n, t0), weight + t0);
    any_top |= _mm512_cmpeq_epi32_mask(w, top);
    for (int p = 0; p < 4; ++p) {
      const __m512i b = _mm512_and_si512(_mm512_srlv_epi32(w, _mm512_set1_epi32(8 * p)), byte);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(planes.data() + size_t(p) * plane_len + t0),
                       _mm512_cvtepi32_epi8(b));
    }
  }
  const int vector_dims = dims / 16 * 16;
  if (any_top) {
    ValueSums<4>(planes.data(), plane_len, quads, v, quad_stride, vector_dims, num);
  } else {
    ValueSums<3>(planes.data(), plane_len, quads, v, quad_stride, vector_dims, num);
  }
  if (vector_dims < dims) {
    portable::WeightedValueSum(weight, n, v + 4 * vector_dims, quad_stride, dims - vector_dims,
                               num + vector_dims);
  }
}

LMC_AVX512 void DivideClampInt8Avx512(const int64_t* num, int n, int64_t den, int8_t* out) {
  // round_div(a, d) = floor((2a + d) / 2d), through a double product with
  // 1 / 2d and one correction step each way. The operands are exact doubles
  // (< 2^53) and the product is within 2^-52 relative of the quotient, so of
  // 2^-1 absolute: the estimate is off by one at most.
  const __m512i b = _mm512_set1_epi64(2 * den);
  const __m512d inv = _mm512_set1_pd(1.0 / static_cast<double>(2 * den));
  const __m512i vden = _mm512_set1_epi64(den), one = _mm512_set1_epi64(1);
  const __m512i lo = _mm512_set1_epi64(-127), hi = _mm512_set1_epi64(127);
  for (int i0 = 0; i0 < n; i0 += 8) {
    const __mmask8 live = internal::Live8(n, i0);
    const __m512i x = _mm512_maskz_loadu_epi64(live, num + i0);
    const __m512i a = _mm512_add_epi64(_mm512_add_epi64(x, x), vden);
    const __m512d qd = _mm512_roundscale_pd(_mm512_mul_pd(_mm512_cvtepi64_pd(a), inv),
                                            _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512i q = _mm512_cvtpd_epi64(qd);
    const __m512i r = _mm512_sub_epi64(a, _mm512_mullo_epi64(q, b));
    q = _mm512_mask_sub_epi64(q, _mm512_cmplt_epi64_mask(r, _mm512_setzero_si512()), q, one);
    q = _mm512_mask_add_epi64(q, _mm512_cmpge_epi64_mask(r, b), q, one);
    q = _mm512_min_epi64(_mm512_max_epi64(q, lo), hi);
    _mm512_mask_cvtepi64_storeu_epi8(out + i0, live, q);
  }
}

}  // namespace

KvLayout::KvLayout(int d_model, int heads, int window)
    : d_model(d_model),
      heads(heads),
      head_dim(d_model / heads),
      window(window),
      groups((d_model / heads + 3) / 4),
      slots(RoundUp(window, 16)),
      quads((window + 3) / 4),
      value_stride(4 * d_model),
      key_bytes(size_t(heads) * groups * slots * 4),
      value_bytes(size_t(quads) * value_stride) {}

void KvLayout::StoreKey(uint8_t* keys, int slot, const int8_t* k, int h0, int h1) const {
  if (h1 < 0) h1 = heads;
  for (int h = h0; h < h1; ++h) {
    uint8_t* head = keys + size_t(h) * groups * slots * 4 + size_t(slot) * 4;
    const int8_t* kh = k + h * head_dim;
    for (int g = 0; g < groups; ++g) {
      uint8_t* group = head + size_t(g) * slots * 4;
      for (int j = 0; j < 4; ++j) {
        const int i = 4 * g + j;
        group[j] = static_cast<uint8_t>((i < head_dim ? kh[i] : 0) + 128);
      }
    }
  }
}

void KvLayout::StoreValue(int8_t* values, int slot, const int8_t* v, int h0, int h1) const {
  if (h1 < 0) h1 = heads;
  int8_t* quad = values + size_t(slot / 4) * value_stride + slot % 4;
  for (int i = h0 * head_dim; i < h1 * head_dim; ++i) quad[4 * i] = v[i];
}

namespace portable {

void QueryKeyDots(const int8_t* q, const uint8_t* keys, int groups, int slots, int n,
                  int32_t* dot) {
  for (int t = 0; t < n; ++t) {
    int32_t s = 0;
    for (int g = 0; g < groups; ++g) {
      const uint8_t* k = keys + (size_t(g) * slots + t) * 4;
      for (int j = 0; j < 4; ++j) s += q[4 * g + j] * (int32_t{k[j]} - 128);
    }
    dot[t] = s;
  }
}

int64_t AttentionWeights(const int32_t* dot, int n, int slot, int window, int64_t score_m,
                         int score_s, int64_t alibi, const int32_t* table, int table_size,
                         int32_t* weight) {
  thread_local std::vector<int64_t> scores;
  scores.resize(n);
  int64_t mx = INT64_MIN;
  for (int t = 0; t < n; ++t) {
    const int64_t dist = t <= slot ? slot - t : slot - t + window;
    const int64_t s = std::clamp(RoundShift(int64_t{dot[t]} * score_m, score_s), -kScoreLimit,
                                 kScoreLimit);
    scores[t] = s - alibi * dist;
    mx = std::max(mx, scores[t]);
  }
  int64_t sum = 0;
  for (int t = 0; t < n; ++t) {
    const int64_t diff = mx - scores[t];
    weight[t] = diff < table_size ? table[diff] : 0;
    sum += weight[t];
  }
  return sum;
}

void WeightedValueSum(const int32_t* weight, int n, const int8_t* v, int quad_stride, int dims,
                      int64_t* num) {
  std::fill(num, num + dims, 0);
  for (int t = 0; t < n; ++t) {
    if (weight[t] == 0) continue;
    const int8_t* row = v + size_t(t / 4) * quad_stride + t % 4;
    for (int i = 0; i < dims; ++i) num[i] += int64_t{weight[t]} * row[4 * i];
  }
}

void DivideClampInt8(const int64_t* num, int n, int64_t den, int8_t* out) {
  for (int i = 0; i < n; ++i) out[i] = static_cast<int8_t>(std::clamp<int64_t>(RoundDiv(num[i], den), -127, 127));
}

}  // namespace portable

void QueryKeyDots(const int8_t* q, const uint8_t* keys, int groups, int slots, int n,
                  int32_t* dot) {
  if (HasVnni()) return QueryKeyDotsAvx512(q, keys, groups, slots, n, dot);
  portable::QueryKeyDots(q, keys, groups, slots, n, dot);
}

int64_t AttentionWeights(const int32_t* dot, int n, int slot, int window, int64_t score_m,
                         int score_s, int64_t alibi, const int32_t* table, int table_size,
                         int32_t* weight) {
  if (HasVnni()) {
    return AttentionWeightsAvx512(dot, n, slot, window, score_m, score_s, alibi, table,
                                  table_size, weight);
  }
  return portable::AttentionWeights(dot, n, slot, window, score_m, score_s, alibi, table,
                                    table_size, weight);
}

void WeightedValueSum(const int32_t* weight, int n, const int8_t* v, int quad_stride, int dims,
                      int64_t* num) {
  if (HasVnni()) return WeightedValueSumAvx512(weight, n, v, quad_stride, dims, num);
  portable::WeightedValueSum(weight, n, v, quad_stride, dims, num);
}

void DivideClampInt8(const int64_t* num, int n, int64_t den, int8_t* out) {
  if (HasVnni()) return DivideClampInt8Avx512(num, n, den, out);
  portable::DivideClampInt8(num, n, den, out);
}

}  // namespace lmc::kernels
