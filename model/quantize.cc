#include "model/quantize.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace lmc {

std::pair<int64_t, int32_t> MultiplierShift(double ratio) {
  int shift = 29 - static_cast<int>(std::floor(std::log2(std::max(ratio, 1e-30))));
  shift = std::clamp(shift, 1, 62);
  const double m = std::ldexp(ratio, shift);
  // Out of range (or NaN): a value every caller refuses (>= 2^31), not an
  // undefined conversion.
  if (!(m < std::ldexp(1.0, 62))) return {int64_t{1} << 62, shift};
  return {std::llround(m), shift};
}

absl::StatusOr<QuantLinear> QuantizeLinear(const std::string& name, std::span<const double> w,
                                           int rows, int cols, std::span<const double> b,
                                           double s_in, double s_out) {
  const std::vector<double> steps(rows, s_out);
  return QuantizeLinear(name, w, rows, cols, b, s_in, steps);
}

absl::StatusOr<QuantLinear> QuantizeLinear(const std::string& name, std::span<const double> w,
                                           int rows, int cols, std::span<const double> b,
                                           double s_in, std::span<const double> s_out_rows) {
  QuantLinear q;
  q.rows = rows;
  q.cols = cols;
  q.w.resize(static_cast<size_t>(rows) * cols);
  q.m.resize(rows);
  q.s.resize(rows);
  q.b.resize(rows);
  for (int64_t o = 0; o < rows; ++o) {
    const double* row = &w[o * cols];
    double maxabs = 0;
    for (int64_t k = 0; k < cols; ++k) maxabs = std::max(maxabs, std::abs(row[k]));
    const double sw = std::max(maxabs / 127.0, 1e-12);
    for (int64_t k = 0; k < cols; ++k) {
      q.w[o * cols + k] =
          static_cast<int8_t>(std::clamp<double>(std::nearbyint(row[k] / sw), -127, 127));
    }
    const double s_out = s_out_rows[o];
    auto [mult, shift] = MultiplierShift(sw * s_in / s_out);
    if (mult >= (int64_t{1} << 31)) {
      return absl::OutOfRangeError(absl::StrCat("quantise: ", name, " multiplier overflows"));
    }
    const double bias = std::ldexp((b.empty() ? 0.0 : b[o]) / s_out, shift);
    if (std::abs(bias) > std::ldexp(1.0, 61)) {
      return absl::OutOfRangeError(absl::StrCat("quantise: ", name, " bias overflows"));
    }
    q.m[o] = static_cast<int32_t>(mult);
    q.s[o] = shift;
    q.b[o] = std::llround(bias);
  }
  return q;
}

std::vector<int32_t> ExpTable(int score_unit, int exp_bits, int size) {
  std::vector<int32_t> table(size);
  for (int i = 0; i < size; ++i) {
    table[i] = static_cast<int32_t>(std::llround(std::ldexp(std::exp(-double(i) / score_unit), exp_bits)));
  }
  return table;
}

int ExpTableSizeToZero(int score_unit, int exp_bits) {
  int i = 0;
  while (std::llround(std::ldexp(std::exp(-double(i) / score_unit), exp_bits)) != 0) ++i;
  return i;
}

absl::Status AppendMultipliers(const std::string& name, std::span<const double> ratios,
                               bool one_pair, std::vector<TensorData>* out) {
  std::vector<int64_t> v;
  for (double ratio : ratios) {
    auto [m, s] = MultiplierShift(ratio);
    if (m >= (int64_t{1} << 31)) return absl::OutOfRangeError(absl::StrCat("quantise: ", name, " overflows"));
    v.insert(v.end(), {m, s});
  }
  std::vector<int64_t> shape = {2};
  if (!one_pair) shape = {static_cast<int64_t>(ratios.size()), 2};
  out->push_back({name, "I64", std::move(shape), TensorBytes(v)});
  return absl::OkStatus();
}

absl::Status ReadMultipliers(const Safetensors& st, const std::string& name, int n,
                             std::vector<int64_t>* m, std::vector<int32_t>* s) {
  std::vector<int64_t> v;
  LMC_RETURN_IF_ERROR(ReadTensor(st, name, "I64", n == 0 ? std::vector<int64_t>{2} : std::vector<int64_t>{n, 2}, &v));
  m->clear();
  s->clear();
  for (size_t i = 0; i < v.size(); i += 2) {
    if (v[i] < 0 || v[i] >= (int64_t{1} << 31) || v[i + 1] < 1 || v[i + 1] > 62) {
      return absl::InvalidArgumentError(absl::StrCat("model: ", name, " out of range"));
    }
    m->push_back(v[i]);
    s->push_back(static_cast<int32_t>(v[i + 1]));
  }
  return absl::OkStatus();
}

void AppendLinear(const std::string& name, const QuantLinear& l, std::vector<TensorData>* out) {
  out->push_back({name + ".w", "I8", {l.rows, l.cols}, TensorBytes(l.w)});
  out->push_back({name + ".m", "I32", {l.rows}, TensorBytes(l.m)});
  out->push_back({name + ".s", "I32", {l.rows}, TensorBytes(l.s)});
  out->push_back({name + ".b", "I64", {l.rows}, TensorBytes(l.b)});
}

absl::Status ReadLinear(const Safetensors& st, const std::string& name, int rows, int cols,
                        QuantLinear* l, bool pack) {
  l->rows = rows;
  l->cols = cols;
  LMC_RETURN_IF_ERROR(ReadTensor(st, name + ".w", "I8", {rows, cols}, &l->w));
  LMC_RETURN_IF_ERROR(ReadTensor(st, name + ".m", "I32", {rows}, &l->m));
  LMC_RETURN_IF_ERROR(ReadTensor(st, name + ".s", "I32", {rows}, &l->s));
  LMC_RETURN_IF_ERROR(ReadTensor(st, name + ".b", "I64", {rows}, &l->b));
  for (int o = 0; o < rows; ++o) {
    // These bounds keep acc * m + b + 2^(s-1) inside int64 (docs/model.md).
    if (l->m[o] < 0 || l->s[o] < 1 || l->s[o] > 62 || l->b[o] > (int64_t{1} << 61) ||
        l->b[o] < -(int64_t{1} << 61)) {
      return absl::InvalidArgumentError(
          absl::StrCat("model: ", name, " has an out-of-range multiplier, shift or bias"));
    }
  }
  for (int8_t w : l->w) {
    if (w == -128) return absl::InvalidArgumentError(absl::StrCat("model: ", name, " uses -128"));
  }
  if (pack) l->packed = kernels::Pack(l->w.data(), rows, cols);
  return absl::OkStatus();
}

}  // namespace lmc
