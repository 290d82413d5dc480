// The prediction of each sample of a media file from the samples before it,
// one sample at a time, in the order the token stream holds them (the "walk":
// images plane by plane, green first; audio channel by channel; video frame
// by frame, plane by plane). Both ends of the codec run it: the front-end
// (media/sample_stream.h) turns values into residuals against it and back,
// and the sample contexts (media/sample_context.h) follow it token by token
// so that the mixer's contexts can look at sample values, not only residuals.
// docs/format.md ("Front-ends") specifies every prediction.
//
//   SamplePredictor sp(geometry);
//   while (!sp.done()) { uint32_t p = sp.prediction(); ...; sp.Push(value); }
#ifndef LMC_MEDIA_SAMPLE_PREDICTOR_H_
#define LMC_MEDIA_SAMPLE_PREDICTOR_H_

#include <array>
#include <cstdint>
#include <vector>

#include "media/geometry.h"
#include "media/sign_lms.h"

namespace lmc::media {

class SamplePredictor {
 public:
  static constexpr int kCandidates = 8;

  // Where the current sample lies: the plane (an image's colour plane, a video
  // frame's plane, an audio channel as one row) starting at walk position
  // `base`, its size, the sample's coordinates, and the reference plane's
  // base (the green plane for red and blue, the previous frame's plane for
  // video; -1 if none).
  struct Place {
    uint64_t base = 0;
    uint64_t w = 0, h = 0, x = 0, y = 0;
    int64_t ref = -1;
    // Red and blue: predicted as green plus the prediction of their
    // difference to green, from the difference's neighbours.
    bool difference = false;
  };

  // Starts at walk position `first` (a chunk's first sample) as if every
  // sample before it were 0. SamplesFit(g) must hold.
  explicit SamplePredictor(const Geometry& g, uint64_t first = 0);

  bool done() const { return pos_ >= samples_; }
  uint64_t position() const { return pos_; }
  const Place& place() const { return place_; }
  // The prediction of the sample at position() (valid while !done()).
  uint32_t prediction() const { return pred_; }
  // The value (masked to the sample width) of the sample at position().
  void Push(uint32_t value);
  // The sample at position() from its zigzagged residual z (2s for s >= 0,
  // -2s - 1 otherwise): pushes the value (prediction + s, masked) and
  // returns it.
  uint32_t PushResidual(uint32_t z) {
    const int64_t r = (z & 1) ? -static_cast<int64_t>(z >> 1) - 1 : z >> 1;
    const auto v = static_cast<uint32_t>((pred_ + static_cast<uint64_t>(r)) & mask_);
    Push(v);
    return v;
  }
  // The value at walk position s; 0 before `first` and from position() on.
  uint32_t value(int64_t s) const {
    return s < static_cast<int64_t>(first_) || static_cast<uint64_t>(s) >= pos_
               ? 0
               : values_[s - first_];
  }
  uint32_t mask() const { return static_cast<uint32_t>(mask_); }

  // For contexts, in the plane's own terms (a difference plane's values are
  // its differences to green): the prediction of the sample at position(),
  // and the value at (x + dx, y + dy) of its plane (dy <= 0, and dx < 0 where
  // dy = 0) - the prediction where that lies outside the plane.
  int64_t PlaneTermsPrediction() const { return int64_t{pred_} - t_; }
  int64_t Around(int64_t dx, int64_t dy) const;
  // The reference plane's value at (x + dx, y + dy); place().ref >= 0 and
  // the point inside the plane.
  int64_t RefAround(int64_t dx, int64_t dy) const {
    return Ref(place_.x + dx, place_.y + dy);
  }

  // Where walk position s of g lies in the raw (interleaved) sample order.
  static uint64_t RawIndex(const Geometry& g, uint64_t s);

 private:
  void StartPlane(uint64_t s);  // the plane holding walk position s
  void Predict();
  // The current plane's value at (x, y), less the reference's there for a
  // difference plane.
  int64_t Cur(uint64_t x, uint64_t y) const {
    const int64_t v = value(place_.base + y * place_.w + x);
    return place_.difference ? v - Ref(x, y) : v;
  }
  int64_t Ref(uint64_t x, uint64_t y) const {
    return value(static_cast<int64_t>(place_.ref + y * place_.w + x));
  }
  uint32_t* ErrRow(uint64_t y, int k) {
    return &err_[((y & 1) * kCandidates + k) * place_.w];
  }
  const uint32_t* ErrRow(uint64_t y, int k) const {
    return &err_[((y & 1) * kCandidates + k) * place_.w];
  }
  // The prediction of a plane alone (`ref`: with the reference plane's
  // candidates), candidates clamped to [lo, mask].
  int64_t PlanePrediction(bool ref, int64_t lo);
  int64_t Blend(int64_t lo) const;

  Geometry g_;
  uint64_t samples_, first_, pos_, mask_;
  std::vector<uint32_t> values_;  // from `first` on
  Place place_;
  uint64_t plane_end_ = 0;
  uint32_t pred_ = 0;
  int64_t t_ = 0;  // difference planes: the reference's value here, else 0
  // Pixels: each candidate's absolute error on the current and previous row.
  std::vector<uint32_t> err_;
  std::array<int64_t, kCandidates> c_{};
  bool inner_ = false;
  // Audio, per channel: the previous value (the fixed prediction); after the
  // first channel, the previous channel's change at the same instant, with a
  // weight of its own (stereo: both channels move together); then three
  // sign-sign LMS filters in cascade, each predicting the residual the ones
  // before it leave (order, weight fraction bits, step).
  int64_t s1_ = 0;
  int64_t link_w_ = 0, link_d_ = 0;  // the weight (14 fraction bits); this instant's change
  SignLms<128, 16, 8> lms_long_;
  SignLms<32, 14, 16> lms_mid_;
  SignLms<16, 14, 32> lms_short_;
  int64_t fixed_ = 0, p_link_ = 0, p_long_ = 0, p_mid_ = 0, p_short_ = 0;  // this sample's
  // The signed value at walk position s (audio).
  int64_t SignedValue(int64_t s) const;
};

}  // namespace lmc::media

#endif  // LMC_MEDIA_SAMPLE_PREDICTOR_H_
