#include "model/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "model/internal/avx512.h"

namespace lmc::kernels {
namespace {

bool DetectVnni() {
  if (const char* e = std::getenv("LMC_NO_SIMD"); e && *e == '1') return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
}

// One group of 4 along k: R broadcasts, NB weight loads, R * NB multiply-adds
// into chain s.
template <int R, int NB, int S>
__attribute__((target("avx512f,avx512bw,avx512vnni")))
inline void GemvStep(const uint8_t* a, int k, int i, const __m512i* wp, int k4,
                     __m512i (&acc)[R][NB][S], int s) {
  __m512i av[R];
  for (int r = 0; r < R; ++r) {
    int32_t v;
    std::memcpy(&v, a + size_t(r) * k + 4 * i, 4);
    av[r] = _mm512_set1_epi32(v);
  }
  for (int j = 0; j < NB; ++j) {
    const __m512i x = _mm512_loadu_si512(wp + size_t(j) * k4 + i);
    for (int r = 0; r < R; ++r) acc[r][j][s] = _mm512_dpbusd_epi32(acc[r][j][s], av[r], x);
  }
}

// R activation rows (stride k bytes) times NB blocks of 16 packed columns,
// with S accumulators a block and row that take turns along k (summed at the
// end: integer sums are exact in any order). Each weight load feeds R
// multiply-adds, so 2 or 3 rows cost little more than one where the weights
// come from L2; R * NB * S >= 8 chains hide vpdpbusd's latency also when few
// blocks are left (one chain alone waits about 5 cycles a load).
// Sums over i in [i0, i1) of the k4 groups of 4, less 128 times corr (the
// weights' sums over the same range), corr indexed by column, c by row
// (stride cols) and column.
template <int R, int NB, int S>
__attribute__((target("avx512f,avx512bw,avx512vnni")))
inline void GemvBlocks(const uint8_t* a, int k, int i0, int i1, const __m512i* wp,
                       const int32_t* corr, int b0, int32_t* c, int cols) {
  const int k4 = k / 4;
  __m512i acc[R][NB][S];
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < NB; ++j) {
      for (int s = 0; s < S; ++s) acc[r][j][s] = _mm512_setzero_si512();
    }
  }
  int i = i0;
  for (; i + S <= i1; i += S) {
    for (int s = 0; s < S; ++s) GemvStep<R, NB>(a, k, i + s, wp, k4, acc, s);
  }
  for (; i < i1; ++i) GemvStep<R, NB>(a, k, i, wp, k4, acc, 0);
  for (int j = 0; j < NB; ++j) {
    const __m512i sum = _mm512_mullo_epi32(_mm512_loadu_si512(corr + (b0 + j) * 16), _mm512_set1_epi32(128));
    for (int r = 0; r < R; ++r) {
      __m512i total = acc[r][j][0];
      for (int s = 1; s < S; ++s) total = _mm512_add_epi32(total, acc[r][j][s]);
      _mm512_storeu_si512(c + size_t(r) * cols + (b0 + j) * 16, _mm512_sub_epi32(total, sum));
    }
  }
}

// R rows (1-3), column blocks [b0, end_block).
template <int R>
__attribute__((target("avx512f,avx512bw,avx512vnni")))
inline void GemvRows(const uint8_t* a, int k, int i0, int i1, const __m512i* wp,
                     const int32_t* corr, int b0, int end_block, int32_t* c, int cols) {
  static_assert(R >= 1 && R <= 3);
  constexpr int kChains = 8 / R;  // a block's chains when few blocks are left
  const size_t k4 = k / 4;
  // Blocks a pass: 8 for 1-2 rows; for 3 rows, 4 (24 accumulators spilled
  // registers: 3 rows then took longer than a 4-row tile).
  constexpr int kBlocks = R == 3 ? 4 : 8;
  for (; b0 + kBlocks <= end_block; b0 += kBlocks) GemvBlocks<R, kBlocks, 1>(a, k, i0, i1, wp + b0 * k4, corr, b0, c, cols);
  if (b0 + 4 <= end_block) {
    GemvBlocks<R, 4, (kChains + 3) / 4>(a, k, i0, i1, wp + b0 * k4, corr, b0, c, cols);
    b0 += 4;
  }
  switch (end_block - b0) {
    case 3: GemvBlocks<R, 3, (kChains + 2) / 3>(a, k, i0, i1, wp + b0 * k4, corr, b0, c, cols); break;
    case 2: GemvBlocks<R, 2, (kChains + 1) / 2>(a, k, i0, i1, wp + b0 * k4, corr, b0, c, cols); break;
    case 1: GemvBlocks<R, 1, kChains>(a, k, i0, i1, wp + b0 * k4, corr, b0, c, cols); break;
    default: break;
  }
}

// Rows [0, rows) of a (as uint8, rows a multiple of 4) times
// column blocks [first_block, end_block), over k groups [i0, i1), less 128 times
// corr: 4 rows x 32 columns per tile, 64 multiply-adds per instruction.
__attribute__((target("avx512f,avx512bw,avx512vnni")))
void TileRows(const uint8_t* au, int rows, int k, int i0, int i1, const __m512i* wp,
              const int32_t* corr, int first_block, int end_block, int cols, int32_t* c) {
  const int k4 = k / 4;
  for (int r = 0; r < rows; r += 4) {
    const uint8_t* a0 = au + size_t(r) * k;
    const uint8_t* a1 = a0 + k;
    const uint8_t* a2 = a1 + k;
    const uint8_t* a3 = a2 + k;
    int b = first_block;
    for (; b + 2 <= end_block; b += 2) {
      __m512i c00 = _mm512_setzero_si512(), c01 = _mm512_setzero_si512();
      __m512i c10 = _mm512_setzero_si512(), c11 = _mm512_setzero_si512();
      __m512i c20 = _mm512_setzero_si512(), c21 = _mm512_setzero_si512();
      __m512i c30 = _mm512_setzero_si512(), c31 = _mm512_setzero_si512();
      const __m512i* w0 = wp + size_t(b) * k4;
      const __m512i* w1 = w0 + k4;
      for (int i = i0; i < i1; ++i) {
        const __m512i x0 = _mm512_loadu_si512(w0 + i);
        const __m512i x1 = _mm512_loadu_si512(w1 + i);
        int32_t v;
        std::memcpy(&v, a0 + 4 * i, 4);
        __m512i av = _mm512_set1_epi32(v);
        c00 = _mm512_dpbusd_epi32(c00, av, x0);
        c01 = _mm512_dpbusd_epi32(c01, av, x1);
        std::memcpy(&v, a1 + 4 * i, 4);
        av = _mm512_set1_epi32(v);
        c10 = _mm512_dpbusd_epi32(c10, av, x0);
        c11 = _mm512_dpbusd_epi32(c11, av, x1);
        std::memcpy(&v, a2 + 4 * i, 4);
        av = _mm512_set1_epi32(v);
        c20 = _mm512_dpbusd_epi32(c20, av, x0);
        c21 = _mm512_dpbusd_epi32(c21, av, x1);
        std::memcpy(&v, a3 + 4 * i, 4);
        av = _mm512_set1_epi32(v);
        c30 = _mm512_dpbusd_epi32(c30, av, x0);
        c31 = _mm512_dpbusd_epi32(c31, av, x1);
      }
      const __m512i s0 = _mm512_mullo_epi32(_mm512_loadu_si512(corr + b * 16), _mm512_set1_epi32(128));
      const __m512i s1 = _mm512_mullo_epi32(_mm512_loadu_si512(corr + b * 16 + 16), _mm512_set1_epi32(128));
      __m512i out[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
      for (int j = 0; j < 4; ++j) {
        _mm512_storeu_si512(c + size_t(r + j) * cols + b * 16, _mm512_sub_epi32(out[j][0], s0));
        _mm512_storeu_si512(c + size_t(r + j) * cols + b * 16 + 16, _mm512_sub_epi32(out[j][1], s1));
      }
    }
    for (; b < end_block; ++b) {
      __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(),
                        _mm512_setzero_si512(), _mm512_setzero_si512()};
      const __m512i* w0 = wp + size_t(b) * k4;
      for (int i = i0; i < i1; ++i) {
        const __m512i x0 = _mm512_loadu_si512(w0 + i);
        for (int j = 0; j < 4; ++j) {
          int32_t v;
          std::memcpy(&v, a0 + size_t(j) * k + 4 * i, 4);
          acc[j] = _mm512_dpbusd_epi32(acc[j], _mm512_set1_epi32(v), x0);
        }
      }
      const __m512i s0 = _mm512_mullo_epi32(_mm512_loadu_si512(corr + b * 16), _mm512_set1_epi32(128));
      for (int j = 0; j < 4; ++j) {
        _mm512_storeu_si512(c + size_t(r + j) * cols + b * 16, _mm512_sub_epi32(acc[j], s0));
      }
    }
  }
}

// Columns [16 first_block, 16 end_block) of c = a times w over dimensions
// [k0, k1) of a (multiples of 4), less 128 times corr (the weights' sums over
// those dimensions): a, shifted to uint8, times packed weights with vpdpbusd.
// Rows go through 4-row tiles, which read each weight once for 4 rows, and
// the 1-3 rows left (decoding: all of them) through GemvRows, which reads
// each weight once for them all (measured on the 2-core Xeon, L2-hot: 2 rows
// of a 768x192 product took 2.1 us in one pass, against 3.2 us as two passes
// of one row).
__attribute__((target("avx512f,avx512bw,avx512vnni")))
void MatMulVnni(const int8_t* a, int rows, const PackedWeights& w, int k0, int k1,
                const int32_t* corr, int first_block, int end_block, int32_t* c) {
  const int k = w.k, cols = w.cols;
  // Activations + 128 as uint8.
  thread_local std::vector<uint8_t> au;
  au.resize(size_t(rows) * k);
  for (int r = 0; r < rows; ++r) {
    const int8_t* in = a + size_t(r) * k;
    uint8_t* out = au.data() + size_t(r) * k;
    for (int i = k0; i < k1; ++i) out[i] = static_cast<uint8_t>(in[i] + 128);
  }
  const __m512i* wp = reinterpret_cast<const __m512i*>(w.vnni.data());
  // Whole 4-row tiles, then the 1-3 rows left in one pass over the weights.
  const int tiled = rows / 4 * 4;
  if (tiled > 0) {
    TileRows(au.data(), tiled, k, k0 / 4, k1 / 4, wp, corr, first_block, end_block, cols, c);
  }
  const uint8_t* rest = au.data() + size_t(tiled) * k;
  int32_t* c_rest = c + size_t(tiled) * cols;
  switch (rows - tiled) {
    case 1: GemvRows<1>(rest, k, k0 / 4, k1 / 4, wp, corr, first_block, end_block, c_rest, cols); break;
    case 2: GemvRows<2>(rest, k, k0 / 4, k1 / 4, wp, corr, first_block, end_block, c_rest, cols); break;
    case 3: GemvRows<3>(rest, k, k0 / 4, k1 / 4, wp, corr, first_block, end_block, c_rest, cols); break;
    default: break;
  }
}

}  // namespace

bool HasVnni() {
  static const bool has = DetectVnni();
  return has;
}

PackedWeights Pack(const int8_t* w, int cols, int k) {
  PackedWeights p;
  p.cols = cols;
  p.k = k;
  p.rows.assign(w, w + size_t(cols) * k);
  p.row_sum.assign(cols, 0);
  for (int n = 0; n < cols; ++n) {
    for (int i = 0; i < k; ++i) p.row_sum[n] += w[size_t(n) * k + i];
  }
  if (HasVnni() && k % 4 == 0 && cols % kColumnBlock == 0) {
    if (k % kSumSpan == 0) {
      p.prefix_sum.assign(size_t(k / kSumSpan + 1) * cols, 0);
      for (int s = 1; s <= k / kSumSpan; ++s) {
        for (int n = 0; n < cols; ++n) {
          int32_t sum = p.prefix_sum[size_t(s - 1) * cols + n];
          for (int i = (s - 1) * kSumSpan; i < s * kSumSpan; ++i) sum += w[size_t(n) * k + i];
          p.prefix_sum[size_t(s) * cols + n] = sum;
        }
      }
    }
    p.vnni.resize(size_t(cols) * k);
    int8_t* out = p.vnni.data();
    for (int b = 0; b < cols / 16; ++b) {
      for (int i = 0; i < k / 4; ++i) {
        for (int j = 0; j < 16; ++j) {
          for (int t = 0; t < 4; ++t) *out++ = w[size_t(b * 16 + j) * k + 4 * i + t];
        }
      }
    }
  }
  return p;
}

void MatMul(const int8_t* a, int rows, const PackedWeights& w, int32_t* c) {
  MatMulColumns(a, rows, w, 0, w.cols, c);
}

void MatMulColumns(const int8_t* a, int rows, const PackedWeights& w, int begin, int end,
                   int32_t* c) {
  if (!w.vnni.empty()) {
    MatMulVnni(a, rows, w, 0, w.k, w.row_sum.data(), begin / 16, end / 16, c);
  } else {
    MatMulInt8Columns(a, rows, w.k, w.rows.data(), w.cols, begin, end, c);
  }
}

void MatMulSpan(const int8_t* a, int rows, const PackedWeights& w, int k0, int k1, int32_t* c) {
  const int k = w.k, cols = w.cols;
  if (!w.prefix_sum.empty() && k0 % kSumSpan == 0 && k1 % kSumSpan == 0) {
    thread_local std::vector<int32_t> corr;
    corr.resize(cols);
    const int32_t* hi = &w.prefix_sum[size_t(k1 / kSumSpan) * cols];
    const int32_t* lo = &w.prefix_sum[size_t(k0 / kSumSpan) * cols];
    for (int n = 0; n < cols; ++n) corr[n] = hi[n] - lo[n];
    MatMulVnni(a, rows, w, k0, k1, corr.data(), 0, cols / kColumnBlock, c);
    return;
  }
  for (int r = 0; r < rows; ++r) {
    const int8_t* ar = a + size_t(r) * k;
    for (int n = 0; n < cols; ++n) {
      const int8_t* wn = w.rows.data() + size_t(n) * k;
      int32_t sum = 0;
      for (int i = k0; i < k1; ++i) sum += int32_t{ar[i]} * wn[i];
      c[size_t(r) * cols + n] = sum;
    }
  }
}

// One clone per instruction set, picked at load time (GCC ifunc); the loops are
// written so that the vectoriser turns them into widening multiply-adds.
void MatMulInt8(const int8_t* a, int rows, int k, const int8_t* w, int cols, int32_t* c) {
  MatMulInt8Columns(a, rows, k, w, cols, 0, cols, c);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void MatMulInt8Columns(const int8_t* a, int rows, int k, const int8_t* w, int cols,
                       int begin, int end, int32_t* c) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    const int8_t* a0 = a + (r + 0) * k;
    const int8_t* a1 = a + (r + 1) * k;
    const int8_t* a2 = a + (r + 2) * k;
    const int8_t* a3 = a + (r + 3) * k;
    for (int n = begin; n < end; ++n) {
      const int8_t* wn = w + n * k;
      int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int i = 0; i < k; ++i) {
        const int16_t wi = wn[i];
        s0 += int16_t(a0[i]) * wi;
        s1 += int16_t(a1[i]) * wi;
        s2 += int16_t(a2[i]) * wi;
        s3 += int16_t(a3[i]) * wi;
      }
      c[(r + 0) * cols + n] = s0;
      c[(r + 1) * cols + n] = s1;
      c[(r + 2) * cols + n] = s2;
      c[(r + 3) * cols + n] = s3;
    }
  }
  for (; r < rows; ++r) {
    const int8_t* ar = a + r * k;
    for (int n = begin; n < end; ++n) {
      const int8_t* wn = w + n * k;
      int32_t s = 0;
      for (int i = 0; i < k; ++i) s += int16_t(ar[i]) * int16_t(wn[i]);
      c[r * cols + n] = s;
    }
  }
}

// round_shift(acc * m + b, s): the requantisation both callers below share.
inline int64_t Requant(int32_t acc, int32_t m, int32_t s, int64_t b) {
  return (int64_t{acc} * m + b + (int64_t{1} << (s - 1))) >> s;
}

namespace portable {

// 256 logits -> frequencies, as FrequenciesFromLogits in model/evaluator.h.
void FrequenciesFromLogits(const int64_t* logits, const int32_t* table, int table_size,
                           uint16_t* freqs) {
  constexpr int V = 256;
  constexpr int64_t kSpread = 65536 - V;  // what is shared out beyond 1 each
  int64_t mx = logits[0];
  int argmax = 0;
  for (int o = 1; o < V; ++o) {
    if (logits[o] > mx) mx = logits[o], argmax = o;
  }
  int64_t e[V];
  int64_t sum = 0;
  for (int o = 0; o < V; ++o) {
    const int64_t diff = mx - logits[o];
    e[o] = diff < table_size ? table[diff] : 0;
    sum += e[o];
  }
  // sum >= table[0] >= 1. Each symbol gets 1 plus its share of the rest, rounded
  // down; what rounding leaves goes to the most likely symbol. The quotient
  // through a double product with 1 / sum (the numerator, below 2^40, is an
  // exact double and the estimate is within one), then one correction step
  // each way: the integer division's result, several times faster.
  const double inv = 1.0 / static_cast<double>(sum);
  uint32_t total = 0;
  for (int o = 0; o < V; ++o) {
    const int64_t num = e[o] * kSpread;
    int64_t q = static_cast<int64_t>(static_cast<double>(num) * inv);
    const int64_t r = num - q * sum;
    q += (r >= sum) - (r < 0);
    const uint32_t f = 1 + static_cast<uint32_t>(q);
    freqs[o] = static_cast<uint16_t>(f);
    total += f;
  }
  freqs[argmax] = static_cast<uint16_t>(freqs[argmax] + (65536 - total));
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
int64_t CentreRow(const int32_t* x, int d, int steps, int64_t* num) {
  int64_t sum = 0;
  for (int i = 0; i < d; ++i) sum += x[i];
  const int64_t mean = RoundDiv(sum, d);
  int64_t sq = 0;
  for (int i = 0; i < d; ++i) {
    const int64_t c = x[i] - mean;
    num[i] = c * steps;
    sq += c * c;
  }
  return sq;
}

void RequantInt8(const int32_t* acc, int rows, int cols, const int32_t* m,
                 const int32_t* s, const int64_t* b, int lo, int8_t* out8, int stride) {
  if (stride == 0) stride = cols;
  for (int r = 0; r < rows; ++r) {
    const int32_t* a = acc + size_t(r) * stride;
    int8_t* o8 = out8 + size_t(r) * stride;
    for (int o = 0; o < cols; ++o) {
      const int64_t v = Requant(a[o], m[o], s[o], b[o]);
      o8[o] = static_cast<int8_t>(v < lo ? lo : v > 127 ? 127 : v);
    }
  }
}

void RequantAddResidual(const int32_t* acc, int rows, int cols, const int32_t* m,
                        const int32_t* s, const int64_t* b, int64_t limit, int32_t* x,
                        int stride) {
  if (stride == 0) stride = cols;
  for (int r = 0; r < rows; ++r) {
    const int32_t* a = acc + size_t(r) * stride;
    int32_t* xr = x + size_t(r) * stride;
    for (int o = 0; o < cols; ++o) {
      const int64_t v = xr[o] + Requant(a[o], m[o], s[o], b[o]);
      xr[o] = static_cast<int32_t>(v < -limit ? -limit : v > limit ? limit : v);
    }
  }
}

void RequantClampInt64(const int32_t* acc, int rows, int cols, const int32_t* m,
                       const int32_t* s, const int64_t* b, int64_t limit, int64_t* out64,
                       int stride) {
  if (stride == 0) stride = cols;
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < cols; ++o) {
      const int64_t v = Requant(acc[size_t(r) * stride + o], m[o], s[o], b[o]);
      out64[size_t(r) * stride + o] = v < -limit ? -limit : v > limit ? limit : v;
    }
  }
}

}  // namespace portable

namespace {

// round_shift(acc * m + b, s) for 8 columns, as int64 lanes: |acc|, m < 2^31
// and |b| <= 2^61 keep every step inside int64, as in the loop.
// Its per-column constants for the 8 columns o0.. (masked): m, s and
// b + 2^(s-1), loaded once for every row.
struct RequantColumns {
  __m512i mul, sh, bias;
};
LMC_AVX512 inline RequantColumns LoadRequantColumns(const int32_t* m, const int32_t* s,
                                                    const int64_t* b, __mmask8 live) {
  const __m512i sh = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(live, s));
  const __m512i half = _mm512_sllv_epi64(_mm512_set1_epi64(1),
                                         _mm512_sub_epi64(sh, _mm512_set1_epi64(1)));
  return {_mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(live, m)), sh,
          _mm512_add_epi64(_mm512_maskz_loadu_epi64(live, b), half)};
}
LMC_AVX512 inline __m512i RequantRow(const int32_t* a, const RequantColumns& k, __mmask8 live) {
  const __m512i acc = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(live, a));
  return _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(acc, k.mul), k.bias), k.sh);
}

// What a requantisation does with v: clamps it into int8 outputs, into int64
// outputs, or adds it to the residual's int32 and clamps the sum.
enum class RequantTo { kInt8, kInt64, kResidual };

// Column groups of 8 outside, rows inside: the constants are loaded once per
// group (a block of 128 rows needs them 128 times), and a group's rows stay
// in L1 for the next group. Results are clamped to [lo, hi].
template <RequantTo kTo, typename Out>
LMC_AVX512 void RequantAvx512(const int32_t* acc, int rows, int cols, const int32_t* m,
                              const int32_t* s, const int64_t* b, int64_t lo, int64_t hi,
                              Out* out, int stride) {
  const __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
  for (int o0 = 0; o0 < cols; o0 += 8) {
    const __mmask8 live = internal::Live8(cols, o0);
    const RequantColumns k = LoadRequantColumns(m + o0, s + o0, b + o0, live);
    for (int r = 0; r < rows; ++r) {
      Out* o = out + size_t(r) * stride + o0;
      __m512i v = RequantRow(acc + size_t(r) * stride + o0, k, live);
      if constexpr (kTo == RequantTo::kResidual) {
        v = _mm512_add_epi64(v, _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(live, o)));
      }
      v = _mm512_min_epi64(_mm512_max_epi64(v, vlo), vhi);
      if constexpr (kTo == RequantTo::kInt8) _mm512_mask_cvtepi64_storeu_epi8(o, live, v);
      if constexpr (kTo == RequantTo::kInt64) _mm512_mask_storeu_epi64(o, live, v);
      if constexpr (kTo == RequantTo::kResidual) _mm512_mask_cvtepi64_storeu_epi32(o, live, v);
    }
  }
}

// The sum of 8 int64 lanes. Through memory, and below the zero-masked forms
// of max and cvtepi32_epi64: GCC 12 warns, wrongly, that the plain ones (and
// _mm512_reduce_add_epi64) read an uninitialised vector.
LMC_AVX512 inline int64_t SumLanes(__m512i v) {
  alignas(64) int64_t lanes[8];
  _mm512_store_si512(lanes, v);
  int64_t sum = 0;
  for (int64_t lane : lanes) sum += lane;
  return sum;
}

// The row's sum, its mean, then c = x - mean, num = c * steps and the sum of
// c^2, 8 int64 lanes at a time: the portable loop's int64 arithmetic.
LMC_AVX512 int64_t CentreRowAvx512(const int32_t* x, int d, int steps, int64_t* num) {
  __m512i sum = _mm512_setzero_si512();
  for (int i0 = 0; i0 < d; i0 += 8) {
    const __mmask8 live = internal::Live8(d, i0);
    sum = _mm512_add_epi64(sum, _mm512_maskz_cvtepi32_epi64(0xFF, _mm256_maskz_loadu_epi32(live, x + i0)));
  }
  const __m512i mean = _mm512_set1_epi64(RoundDiv(SumLanes(sum), d));
  const __m512i vsteps = _mm512_set1_epi64(steps);
  __m512i sq = _mm512_setzero_si512();
  for (int i0 = 0; i0 < d; i0 += 8) {
    const __mmask8 live = internal::Live8(d, i0);
    const __m512i c = _mm512_maskz_sub_epi64(
        live, _mm512_maskz_cvtepi32_epi64(0xFF, _mm256_maskz_loadu_epi32(live, x + i0)), mean);
    _mm512_mask_storeu_epi64(num + i0, live, _mm512_mullo_epi64(c, vsteps));
    sq = _mm512_add_epi64(sq, _mm512_mullo_epi64(c, c));
  }
  return SumLanes(sq);
}

// The max of 8 int64 lanes, through memory as SumLanes.
LMC_AVX512 inline int64_t MaxLanes(__m512i v) {
  alignas(64) int64_t lanes[8];
  _mm512_store_si512(lanes, v);
  int64_t mx = lanes[0];
  for (int64_t lane : lanes) mx = std::max(mx, lane);
  return mx;
}

// The portable loop's frequencies, 8 symbols at a time.
LMC_AVX512 void FrequenciesFromLogitsAvx512(const int64_t* logits, const int32_t* table,
                                            int table_size, uint16_t* freqs) {
  constexpr int V = 256;
  constexpr int64_t kSpread = 65536 - V;  // what is shared out beyond 1 each
  __m512i vmax = _mm512_loadu_si512(logits);
  for (int o = 8; o < V; o += 8) vmax = _mm512_maskz_max_epi64(0xFF, vmax, _mm512_loadu_si512(logits + o));
  const int64_t mx = MaxLanes(vmax);
  int argmax = 0;
  while (logits[argmax] != mx) ++argmax;  // the first most likely symbol
  // e = table[mx - logit] inside the table, else 0, by a masked gather.
  alignas(64) int64_t e[V];
  const __m512i vmx = _mm512_set1_epi64(mx), size = _mm512_set1_epi64(table_size);
  __m512i vsum = _mm512_setzero_si512();
  for (int o = 0; o < V; o += 8) {
    const __m512i diff = _mm512_sub_epi64(vmx, _mm512_loadu_si512(logits + o));
    const __mmask8 in = _mm512_cmplt_epi64_mask(diff, size);
    const __m256i got = _mm512_mask_i64gather_epi32(_mm256_setzero_si256(), in, diff, table, 4);
    const __m512i ev = _mm512_maskz_cvtepi32_epi64(0xFF, got);
    _mm512_store_si512(e + o, ev);
    vsum = _mm512_add_epi64(vsum, ev);
  }
  const int64_t sum = SumLanes(vsum);
  // floor(e * kSpread / sum) through a double product with 1 / sum and one
  // correction step each way, as the portable loop: the numerator (< 2^40) is
  // an exact double and the estimate is within one of the quotient.
  const __m512d inv = _mm512_set1_pd(1.0 / static_cast<double>(sum));
  const __m512i vs = _mm512_set1_epi64(sum), spread = _mm512_set1_epi64(kSpread);
  const __m512i one = _mm512_set1_epi64(1);
  __m512i vtotal = _mm512_setzero_si512();
  for (int o = 0; o < V; o += 8) {
    const __m512i num = _mm512_mullo_epi64(_mm512_load_si512(e + o), spread);
    __m512i q = _mm512_cvttpd_epi64(_mm512_mul_pd(_mm512_cvtepi64_pd(num), inv));
    const __m512i r = _mm512_sub_epi64(num, _mm512_mullo_epi64(q, vs));
    q = _mm512_mask_add_epi64(q, _mm512_cmpge_epi64_mask(r, vs), q, one);
    q = _mm512_mask_sub_epi64(q, _mm512_cmplt_epi64_mask(r, _mm512_setzero_si512()), q, one);
    const __m512i f = _mm512_add_epi64(q, one);
    _mm512_mask_cvtepi64_storeu_epi16(freqs + o, 0xFF, f);
    vtotal = _mm512_add_epi64(vtotal, f);
  }
  freqs[argmax] = static_cast<uint16_t>(freqs[argmax] + (65536 - SumLanes(vtotal)));
}

}  // namespace

void FrequenciesFromLogits(const int64_t* logits, const int32_t* table, int table_size,
                           uint16_t* freqs) {
  if (HasVnni()) return FrequenciesFromLogitsAvx512(logits, table, table_size, freqs);
  portable::FrequenciesFromLogits(logits, table, table_size, freqs);
}

int64_t CentreRow(const int32_t* x, int d, int steps, int64_t* num) {
  if (HasVnni()) return CentreRowAvx512(x, d, steps, num);
  return portable::CentreRow(x, d, steps, num);
}

void RequantInt8(const int32_t* acc, int rows, int cols, const int32_t* m, const int32_t* s,
                 const int64_t* b, int lo, int8_t* out8, int stride) {
  if (stride == 0) stride = cols;
  if (HasVnni()) {
    return RequantAvx512<RequantTo::kInt8>(acc, rows, cols, m, s, b, lo, 127, out8, stride);
  }
  portable::RequantInt8(acc, rows, cols, m, s, b, lo, out8, stride);
}

void RequantAddResidual(const int32_t* acc, int rows, int cols, const int32_t* m,
                        const int32_t* s, const int64_t* b, int64_t limit, int32_t* x,
                        int stride) {
  if (stride == 0) stride = cols;
  if (HasVnni()) {
    return RequantAvx512<RequantTo::kResidual>(acc, rows, cols, m, s, b, -limit, limit, x,
                                               stride);
  }
  portable::RequantAddResidual(acc, rows, cols, m, s, b, limit, x, stride);
}

void RequantClampInt64(const int32_t* acc, int rows, int cols, const int32_t* m,
                       const int32_t* s, const int64_t* b, int64_t limit, int64_t* out64,
                       int stride) {
  if (stride == 0) stride = cols;
  if (HasVnni()) {
    return RequantAvx512<RequantTo::kInt64>(acc, rows, cols, m, s, b, -limit, limit, out64,
                                            stride);
  }
  portable::RequantClampInt64(acc, rows, cols, m, s, b, limit, out64, stride);
}

uint64_t ISqrt(uint64_t v) {
  // A float first guess, then exact integer correction: the result does not
  // depend on how sqrt rounds.
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(v)));
  while (r > 0 && (r > 0xFFFFFFFFull || r * r > v)) --r;
  while (r < 0xFFFFFFFFull && (r + 1) * (r + 1) <= v) ++r;
  return r;
}

}  // namespace lmc::kernels
