// Integer kernels of the exact inference. Every result is a function of the
// inputs alone (integer sums are associative), so any blocking, vector width or
// instruction set gives the same bits; only speed differs. kernels_test.cc
// checks each path against the plain loop.
#ifndef LMC_MODEL_KERNELS_H_
#define LMC_MODEL_KERNELS_H_

#include <cstdint>
#include <vector>

#include "model/aligned_vector.h"

namespace lmc::kernels {

// A weight matrix w [cols][k] (int8 in [-127, 127]) prepared for MatMul: the
// rows as they are, plus, where the CPU has AVX-512 VNNI and the shape allows
// (k % 4 == 0, cols % 16 == 0), a copy laid out as [cols/16][k/4][16][4] with
// the row sums that undo the +128 shift of the activations.
struct PackedWeights {
  int cols = 0, k = 0;
  std::vector<int8_t> rows;     // [cols][k]
  AlignedVector<int8_t> vnni;   // empty when the VNNI path is not used
  std::vector<int32_t> row_sum; // sum_k w[n][k]
  // With vnni: prefix_sum[s][n] = sum_{k < kSumSpan * s} w[n][k], s = 0..k / kSumSpan,
  // for MatMulSpan's correction (empty when k is not a multiple of kSumSpan).
  std::vector<int32_t> prefix_sum;
};
inline constexpr int kSumSpan = 64;

PackedWeights Pack(const int8_t* w, int cols, int k);

// c[m][n] = sum_k a[m][k] * w[n][k] for a [rows][k], int8 in [-127, 127],
// k <= 4096 (every sum fits int32).
void MatMul(const int8_t* a, int rows, const PackedWeights& w, int32_t* c);
// MatMul's columns [begin, end) of c (c keeps its w.cols-wide rows), the
// others untouched; begin a multiple of kColumnBlock, end one too or w.cols.
// Two threads that split the columns write what one MatMul writes.
inline constexpr int kColumnBlock = 16;
void MatMulColumns(const int8_t* a, int rows, const PackedWeights& w, int begin, int end,
                   int32_t* c);

// The part of MatMul that dimensions [k0, k1) of a contribute, every column:
// c[m][n] = sum_{k0 <= i < k1} a[m][i] * w[n][i], a still [rows][w.k]. Two
// threads that each take a range of k and add their c's get MatMul's c
// exactly (integer sums). Fastest with k0 and k1 multiples of kSumSpan.
void MatMulSpan(const int8_t* a, int rows, const PackedWeights& w, int k0, int k1, int32_t* c);

// The portable reference of MatMul, on unpacked weights.
void MatMulInt8(const int8_t* a, int rows, int k, const int8_t* w, int cols,
                int32_t* c);
void MatMulInt8Columns(const int8_t* a, int rows, int k, const int8_t* w, int cols,
                       int begin, int end, int32_t* c);

// Requantisation of matmul accumulators, row by row:
// v = round_shift(acc[r][o] * m[o] + b[o], s[o]), then
//   out8[r][o] = clamp(v, lo, 127)            (RequantInt8), or
//   x[r][o] = clamp(x[r][o] + v, -limit, limit) (RequantAddResidual), or
//   out64[r][o] = clamp(v, -limit, limit)      (RequantClampInt64),
// for o < cols, with acc's and the output's rows `stride` entries apart (0:
// cols), so that a range of columns is one call.
void RequantInt8(const int32_t* acc, int rows, int cols, const int32_t* m,
                 const int32_t* s, const int64_t* b, int lo, int8_t* out8, int stride = 0);
void RequantAddResidual(const int32_t* acc, int rows, int cols, const int32_t* m,
                        const int32_t* s, const int64_t* b, int64_t limit, int32_t* x,
                        int stride = 0);
void RequantClampInt64(const int32_t* acc, int rows, int cols, const int32_t* m,
                       const int32_t* s, const int64_t* b, int64_t limit, int64_t* out64,
                       int stride = 0);

// The first half of the model's norm (docs/model.md) for one residual row:
// mean = round_div(sum x, d); writes num[i] = (x[i] - mean) * steps and returns
// sum (x[i] - mean)^2. |x[i]| <= 2^24.
int64_t CentreRow(const int32_t* x, int d, int steps, int64_t* num);

namespace portable {  // the plain loops, for tests to compare with
void RequantInt8(const int32_t* acc, int rows, int cols, const int32_t* m,
                 const int32_t* s, const int64_t* b, int lo, int8_t* out8, int stride = 0);
void RequantAddResidual(const int32_t* acc, int rows, int cols, const int32_t* m,
                        const int32_t* s, const int64_t* b, int64_t limit, int32_t* x,
                        int stride = 0);
void RequantClampInt64(const int32_t* acc, int rows, int cols, const int32_t* m,
                       const int32_t* s, const int64_t* b, int64_t limit, int64_t* out64,
                       int stride = 0);
int64_t CentreRow(const int32_t* x, int d, int steps, int64_t* num);
void FrequenciesFromLogits(const int64_t* logits, const int32_t* table, int table_size,
                           uint16_t* freqs);
}  // namespace portable

// Whether the AVX-512 paths (F, BW, DQ, VL and VNNI) run on this CPU: MatMul,
// the requantisations, CentreRow, FrequenciesFromLogits and the attention
// kernels. LMC_NO_SIMD=1 turns them off.
bool HasVnni();

// FrequenciesFromLogits of model/evaluator.h: 256 logits whose largest minus
// smallest is below 2^62, a table of table_size entries in [0, 2^24] with
// table[0] >= 1.
void FrequenciesFromLogits(const int64_t* logits, const int32_t* table, int table_size,
                           uint16_t* freqs);

// floor(sqrt(v)), exact for every uint64 value.
uint64_t ISqrt(uint64_t v);

// round(n / d) for d > 0, halves rounded up (toward +infinity).
inline int64_t RoundDiv(int64_t n, int64_t d) {
  int64_t q = (2 * n + d) / (2 * d);
  if ((2 * n + d) % (2 * d) < 0) --q;  // floor for negative numerators
  return q;
}

// round(v / 2^s), halves up; s in 1..62.
inline int64_t RoundShift(int64_t v, int s) {
  return (v + (int64_t{1} << (s - 1))) >> s;  // arithmetic shift: floor
}

}  // namespace lmc::kernels

#endif  // LMC_MODEL_KERNELS_H_
