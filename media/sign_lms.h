// A sign-sign LMS filter: predicts the next value of a signal from its last
// kOrder values with integer weights, and steps every weight by kStep times
// the sign of its error times its input's *adaptation*: the input's sign,
// doubled when the input is large against the signal's recent magnitude and
// doubled again when it is an outlier (so loud passages and transients adapt
// faster). Integer and deterministic: the audio predictor
// (media/sample_predictor.h) cascades three of them, and docs/format.md
// specifies the arithmetic.
//
//   SignLms<32, 14, 16> f;
//   per value: int64_t p = f.Predict(); ... f.Update(x, x - p);
#ifndef LMC_MEDIA_SIGN_LMS_H_
#define LMC_MEDIA_SIGN_LMS_H_

#include <algorithm>
#include <array>
#include <cstdint>

namespace lmc::media {

// -1, 0 or 1.
inline int64_t Sign(int64_t v) { return (v > 0) - (v < 0); }

template <int kOrder, int kShift, int kStep>
class SignLms {
 public:
  // Weights and past values back to 0, as at the start of a signal.
  void Reset() {
    w_.fill(0);
    std::fill_n(line_.begin(), kOrder, 0);
    std::fill_n(adapt_.begin(), kOrder, 0);
    pos_ = kOrder;
    magnitude_ = 0;
  }

  // (sum w_j v_j + 2^(shift - 1)) >> shift, v_j the value j + 1 back.
  int64_t Predict() const {
    const int64_t* v = &line_[pos_ - kOrder];
    int64_t acc = 0;
    for (int i = 0; i < kOrder; ++i) acc += w_[i] * v[i];
    return (acc + (int64_t{1} << (kShift - 1))) >> kShift;
  }

  // After the value `x` whose prediction missed by `error`. Weights stay
  // within +-2^24 and values join the line clamped to +-2^28, far beyond
  // what audio reaches (24-bit samples, weights of a few units), so that no
  // input, however contrived, overflows the 64-bit sums.
  void Update(int64_t x, int64_t error) {
    const int64_t step = Sign(error) * kStep;
    const int64_t* a = &adapt_[pos_ - kOrder];
    for (int i = 0; i < kOrder; ++i) w_[i] = std::clamp(w_[i] + step * a[i], -kMaxWeight, kMaxWeight);
    x = std::clamp(x, -kMaxValue, kMaxValue);
    if (pos_ == kLine) {  // the window moves to the front
      std::copy(line_.end() - kOrder, line_.end(), line_.begin());
      std::copy(adapt_.end() - kOrder, adapt_.end(), adapt_.begin());
      pos_ = kOrder;
    }
    const int64_t size = x < 0 ? -x : x;
    const int64_t scale = size == 0                   ? 0
                          : size > 3 * magnitude_     ? 4
                          : 3 * size > 4 * magnitude_ ? 2
                                                      : 1;
    adapt_[pos_] = Sign(x) * scale;
    line_[pos_++] = x;
    magnitude_ += (size - magnitude_) / 16;  // C++ division: toward zero
  }

 private:
  static constexpr int kLine = 8 * kOrder;
  static constexpr int64_t kMaxWeight = int64_t{1} << 24, kMaxValue = int64_t{1} << 28;
  // Sliding windows over the past values and their adaptations, oldest
  // first: line_[pos_ - kOrder + i] is the value kOrder - i back, weighed by
  // w_[i]. Sliding costs one copy every 7 * kOrder values instead of a shift
  // every value.
  std::array<int64_t, kOrder> w_{};
  std::array<int64_t, kLine> line_{};
  std::array<int64_t, kLine> adapt_{};  // -4..4
  int pos_ = kOrder;
  int64_t magnitude_ = 0;  // a running mean of the values' sizes
};

}  // namespace lmc::media

#endif  // LMC_MEDIA_SIGN_LMS_H_
