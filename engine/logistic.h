// The logistic domain of the context mixer, in integers: probabilities are 12-bit
// (0..4095, of 4096), "stretched" values are ln(p / (1 - p)) in units of 1/256,
// clamped to [-2047, 2047]. Both maps are exact integer functions, specified in
// docs/format.md, so every implementation computes the same values.
#ifndef LMC_ENGINE_LOGISTIC_H_
#define LMC_ENGINE_LOGISTIC_H_

#include <array>
#include <cstdint>

namespace lmc {

// 4096 / (1 + e^-x) for x in 1/256 units: interpolates 33 knots at multiples of
// 128, knot i = round(4096 / (1 + e^(-(i - 16) / 2))).
constexpr int Squash(int x) {
  constexpr int kKnots[33] = {1,    2,    4,    6,    10,   17,   27,   45,   74,
                              120,  194,  311,  488,  747,  1102, 1546, 2048, 2550,
                              2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069,
                              4079, 4086, 4090, 4092, 4094, 4095};
  if (x > 2047) return 4095;
  if (x < -2047) return 1;
  const int w = x & 127;
  const int i = (x >> 7) + 16;
  return (kKnots[i] * (128 - w) + kKnots[i + 1] * w + 64) >> 7;
}

// The inverse of Squash: Stretch(p) is the least x in [-2047, 2047] with
// Squash(x) >= p, or 2047 when there is none.
class StretchTable {
 public:
  constexpr StretchTable() : t_() {
    int p = 0;
    for (int x = -2047; x <= 2047; ++x) {
      const int v = Squash(x);
      for (; p <= v; ++p) t_[p] = static_cast<int16_t>(x);
    }
    for (; p < 4096; ++p) t_[p] = 2047;
  }
  constexpr int operator()(int p) const { return t_[p]; }

 private:
  std::array<int16_t, 4096> t_;
};

inline constexpr StretchTable Stretch;

}  // namespace lmc

#endif  // LMC_ENGINE_LOGISTIC_H_
