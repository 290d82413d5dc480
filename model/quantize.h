// The quantisation arithmetic shared by every exporter of integer models (lmc's
// own trainer and the Hugging Face converter) and the reading side of it: a float
// linear layer becomes int8 rows with a per-row multiplier, shift and bias
// (docs/model.md, "Helpers"); TensorBytes/ReadTensor move vectors in and out of
// safetensors.
//
//   LMC_ASSIGN_OR_RETURN(QuantLinear q, QuantizeLinear("l0.q", w, rows, cols, b, s_in, s_out));
//   AppendLinear("l0.q", q, &tensors);            // l0.q.{w,m,s,b}
//   LMC_RETURN_IF_ERROR(ReadLinear(st, "l0.q", rows, cols, &q));
#ifndef LMC_MODEL_QUANTIZE_H_
#define LMC_MODEL_QUANTIZE_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/status_macros.h"
#include "model/int_model.h"
#include "model/safetensors.h"

namespace lmc {

// m = round(ratio * 2^shift), shift in 1..62, m just below 2^30 where the shift
// range allows; m >= 2^31 (callers refuse it) when the ratio is too large.
std::pair<int64_t, int32_t> MultiplierShift(double ratio);

// Quantises w [rows][cols] (row-major) with bias b (empty: none): each row to
// int8 with scale max|row| / 127, and (m, s, b) so that the layer maps an input
// of real step s_in to outputs of real step s_out. OUT_OF_RANGE when a
// multiplier or bias does not fit the format. `packed` is left empty.
absl::StatusOr<QuantLinear> QuantizeLinear(const std::string& name, std::span<const double> w,
                                           int rows, int cols, std::span<const double> b,
                                           double s_in, double s_out);
// The same with an output step per row (s_out.size() == rows).
absl::StatusOr<QuantLinear> QuantizeLinear(const std::string& name, std::span<const double> w,
                                           int rows, int cols, std::span<const double> b,
                                           double s_in, std::span<const double> s_out);

// The softmax's exponential table (docs/model.md): entry i is
// round(2^exp_bits * exp(-i / score_unit)), for i < size.
std::vector<int32_t> ExpTable(int score_unit, int exp_bits, int size);
// The size that ends the table before its first zero entry.
int ExpTableSizeToZero(int score_unit, int exp_bits);

template <typename T>
std::string TensorBytes(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(s.data(), v.data(), s.size());  // little-endian hosts only (x86, arm)
  return s;
}

// Appends NAME.w (I8), NAME.m (I32), NAME.s (I32), NAME.b (I64).
void AppendLinear(const std::string& name, const QuantLinear& l, std::vector<TensorData>* out);

// Reads tensor `name` of this dtype and shape into `out`.
template <typename T>
absl::Status ReadTensor(const Safetensors& st, const std::string& name, const char* dtype,
                        std::vector<int64_t> shape, std::vector<T>* out) {
  LMC_ASSIGN_OR_RETURN(TensorView v, st.Get(name, dtype, shape));
  out->resize(v.bytes.size() / sizeof(T));
  std::memcpy(out->data(), v.bytes.data(), v.bytes.size());
  return absl::OkStatus();
}

// Multiplier/shift pairs (MultiplierShift of each ratio), stored as I64 [2]
// when `one_pair`, else [n, 2]. OUT_OF_RANGE for a multiplier of 2^31 or more.
absl::Status AppendMultipliers(const std::string& name, std::span<const double> ratios,
                               bool one_pair, std::vector<TensorData>* out);
// Reads such pairs: shape [2] for n = 0 (one pair), else [n, 2]; each m in
// [0, 2^31) and s in [1, 62] (the bounds of docs/model.md), else INVALID_ARGUMENT.
absl::Status ReadMultipliers(const Safetensors& st, const std::string& name, int n,
                             std::vector<int64_t>* m, std::vector<int32_t>* s);

// Reads and checks NAME.{w,m,s,b} (the bounds of docs/model.md) and, unless
// `pack` is false (a table read row by row, such as an embedding), packs the
// weights for kernels::MatMul.
absl::Status ReadLinear(const Safetensors& st, const std::string& name, int rows, int cols,
                        QuantLinear* l, bool pack = true);

}  // namespace lmc

#endif  // LMC_MODEL_QUANTIZE_H_
