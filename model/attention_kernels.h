// Integer kernels of one attention head at one position, and the key/value
// cache layout they read. Like kernels.h, every result is a function of the
// inputs alone: the AVX-512 paths (picked at run time) and the portable ones give
// the same bits, which attention_kernels_test.cc checks against plain loops.
//
// Per position and head the evaluator calls, in order:
//   QueryKeyDots     q . k_t for every cached position t,
//   AttentionWeights scores -> exp-table weights e_t, returns sum_t e_t,
//   WeightedValueSum sum_t e_t * v_t,
//   DivideClampInt8  round_div(., sum_t e_t) clamped to int8.
#ifndef LMC_MODEL_ATTENTION_KERNELS_H_
#define LMC_MODEL_ATTENTION_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace lmc::kernels {

// Where one layer of one stream keeps the keys and values of its last `window`
// positions, position p in slot p % window. The layout suits the multiply-add
// instructions:
//   keys   [heads][groups][slots][4] uint8: key dimension 4g+j of slot t of a
//          head at [h][g][t][j], stored as key + 128 (groups = head_dim / 4
//          rounded up, missing dimensions 0 + 128; slots = window rounded up
//          to 16);
//   values [quads][d_model][4] int8: dimension i of slot t at [t / 4][i][t % 4]
//          (quads = window / 4 rounded up; value_stride = 4 * d_model bytes
//          from one quad to the next).
struct KvLayout {
  KvLayout(int d_model, int heads, int window);

  // k and v: d_model values, of which heads [h0, h1) are stored (all by
  // default; two threads that own different heads may store theirs at once).
  void StoreKey(uint8_t* keys, int slot, const int8_t* k, int h0 = 0, int h1 = -1) const;
  void StoreValue(int8_t* values, int slot, const int8_t* v, int h0 = 0, int h1 = -1) const;
  const uint8_t* HeadKeys(const uint8_t* keys, int h) const {
    return keys + size_t(h) * groups * slots * 4;
  }
  const int8_t* HeadValues(const int8_t* values, int h) const { return values + 4 * h * head_dim; }

  int d_model, heads, head_dim, window;
  int groups, slots, quads, value_stride;
  size_t key_bytes, value_bytes;
};

// dot[t] = sum_i q[i] * key_t[i] for t < n, with q given as 4 * groups int8
// (the head's query, zero-padded) and head_keys from KvLayout::HeadKeys. dot
// needs room for n rounded up to 16 entries.
void QueryKeyDots(const int8_t* q, const uint8_t* head_keys, int groups, int slots, int n,
                  int32_t* dot);

// For the cached positions t < n, the newest in slot `slot`, so at distance
// (slot - t) mod window:
//   score_t  = clamp(round_shift(dot[t] * score_m, score_s), -2^30, 2^30)
//              - alibi * distance_t
//   weight_t = exp_table[max_t score_t - score_t], 0 beyond the table.
// Returns sum_t weight_t. Needs 0 <= score_m < 2^31, 1 <= score_s <= 62,
// 0 <= alibi <= 2^16, window <= 8192, table entries in [0, 2^24].
int64_t AttentionWeights(const int32_t* dot, int n, int slot, int window, int64_t score_m,
                         int score_s, int64_t alibi, const int32_t* exp_table, int table_size,
                         int32_t* weight);

// num[i] = sum_{t<n} weight[t] * v_t[i] for i < dims, exactly, with head_values
// from KvLayout::HeadValues (quad_stride: KvLayout::value_stride), weights in
// [0, 2^24] and n <= 8192.
void WeightedValueSum(const int32_t* weight, int n, const int8_t* head_values, int quad_stride,
                      int dims, int64_t* num);

// out[i] = clamp(round_div(num[i], den), -127, 127) for i < n, with
// |num[i]| < 2^50 and 1 <= den < 2^50 (the attention's sums stay below 2^45, the
// norm's below 2^33): there a double quotient with one correction step is exact.
void DivideClampInt8(const int64_t* num, int n, int64_t den, int8_t* out);

// The portable implementations, always compiled; tests compare them with the
// dispatching functions above.
namespace portable {
void QueryKeyDots(const int8_t* q, const uint8_t* head_keys, int groups, int slots, int n,
                  int32_t* dot);
int64_t AttentionWeights(const int32_t* dot, int n, int slot, int window, int64_t score_m,
                         int score_s, int64_t alibi, const int32_t* exp_table, int table_size,
                         int32_t* weight);
void WeightedValueSum(const int32_t* weight, int n, const int8_t* head_values, int quad_stride,
                      int dims, int64_t* num);
void DivideClampInt8(const int64_t* num, int n, int64_t den, int8_t* out);
}  // namespace portable

}  // namespace lmc::kernels

#endif  // LMC_MODEL_ATTENTION_KERNELS_H_
