#include "media/sample_predictor.h"

#include <algorithm>
#include <cstdlib>

namespace lmc::media {
namespace {

int64_t Med(int64_t w, int64_t n, int64_t nw) {
  if (nw >= std::max(w, n)) return std::min(w, n);
  if (nw <= std::min(w, n)) return std::max(w, n);
  return w + n - nw;
}

// An audio sample's signed value: 8-bit WAV is unsigned around 128, the
// others two's complement.
int64_t Signed(uint32_t v, SampleFormat format) {
  if (format == SampleFormat::kU8) return int64_t{v} - 128;
  const int bits = SampleBytes(format) * 8;
  return v >= (uint64_t{1} << (bits - 1)) ? int64_t{v} - (int64_t{1} << bits) : int64_t{v};
}

// Colour images walk green first, then red, blue and alpha.
uint64_t ImageChannel(const Geometry& g, uint64_t plane) {
  if (g.channels < 3 || plane > 2) return plane;
  return plane == 0 ? 1 : plane == 1 ? 0 : 2;
}

}  // namespace

SamplePredictor::SamplePredictor(const Geometry& g, uint64_t first)
    : g_(g),
      samples_(g.samples),
      first_(first),
      pos_(first),
      mask_((uint64_t{1} << (SampleBytes(g.format) * 8)) - 1) {
  if (!done()) {
    StartPlane(pos_);
    Predict();
  }
}

uint64_t SamplePredictor::RawIndex(const Geometry& g, uint64_t s) {
  switch (g.modality) {
    case Modality::kImage: {
      const uint64_t plane = uint64_t{g.width} * g.height;
      return s % plane * g.channels + ImageChannel(g, s / plane);
    }
    case Modality::kAudio: {
      const uint64_t per = g.samples / g.channels;
      return s % per * g.channels + s / per;
    }
    case Modality::kVideo:
    case Modality::kBytes:
      break;
  }
  return s;
}

void SamplePredictor::StartPlane(uint64_t s) {
  place_ = Place{};
  switch (g_.modality) {
    case Modality::kImage: {
      const uint64_t plane = uint64_t{g_.width} * g_.height;
      place_.base = s / plane * plane;
      place_.w = g_.width;
      place_.h = g_.height;
      const uint64_t k = ImageChannel(g_, s / plane);
      if (g_.channels >= 3 && (k == 0 || k == 2)) {
        place_.ref = 0;  // green's plane
        place_.difference = true;
      }
      break;
    }
    case Modality::kVideo: {
      const uint64_t frame = g_.VideoFrameSamples();
      const uint64_t luma = uint64_t{g_.width} * g_.height;
      const uint64_t f = s / frame, r = s % frame;
      if (r < luma) {
        place_.base = f * frame;
        place_.w = g_.width;
        place_.h = g_.height;
      } else {
        place_.w = (uint64_t{g_.width} + g_.chroma_shift) >> g_.chroma_shift;
        place_.h = (uint64_t{g_.height} + g_.chroma_shift) >> g_.chroma_shift;
        const uint64_t size = place_.w * place_.h;
        place_.base = f * frame + luma + (r - luma) / size * size;
      }
      if (f > 0) place_.ref = static_cast<int64_t>(place_.base - frame);
      break;
    }
    case Modality::kAudio: {
      const uint64_t per = g_.samples / g_.channels;
      place_.base = s / per * per;
      place_.w = per;
      place_.h = 1;
      s1_ = 0;
      link_w_ = 0;
      lms_long_.Reset();
      lms_mid_.Reset();
      lms_short_.Reset();
      break;
    }
    case Modality::kBytes:
      place_.w = samples_;
      place_.h = 1;
      break;
  }
  const uint64_t q = s - place_.base;
  place_.x = q % place_.w;
  place_.y = q / place_.w;
  plane_end_ = place_.base + place_.w * place_.h;
  if (g_.modality == Modality::kImage || g_.modality == Modality::kVideo) {
    err_.assign(2 * kCandidates * place_.w, 0);
  }
}

void SamplePredictor::Predict() {
  if (g_.modality == Modality::kAudio) {
    // The previous sample (order-1 fixed prediction; order 2 amplified the
    // noise that the filters then had to undo); after the first channel, the
    // previous channel's change at this instant, weighed; then the three
    // filters: the long one predicts the residual left so far from its past
    // ones, the middle one the long one's residual, the short one the middle
    // one's.
    fixed_ = s1_;  // 0 before the channel's first sample
    p_link_ = 0;
    if (place_.base >= place_.w) {  // not the first channel
      const int64_t other = static_cast<int64_t>(place_.base - place_.w + place_.x);
      link_d_ = SignedValue(other) - (place_.x > 0 ? SignedValue(other - 1) : 0);
      p_link_ = (link_w_ * link_d_ + (int64_t{1} << 13)) >> 14;
    }
    p_long_ = lms_long_.Predict();
    p_mid_ = lms_mid_.Predict();
    p_short_ = lms_short_.Predict();
    const int64_t offset = g_.format == SampleFormat::kU8 ? 128 : 0;
    pred_ = static_cast<uint32_t>(
        static_cast<uint64_t>(fixed_ + p_link_ + p_long_ + p_mid_ + p_short_ + offset) & mask_);
    return;
  }
  if (g_.modality == Modality::kBytes) {
    pred_ = 0;
    return;
  }
  const uint64_t x = place_.x, y = place_.y;
  const int64_t hi = static_cast<int64_t>(mask_);
  if (place_.difference) {
    // Green plus the difference's own prediction (as for a plane alone).
    t_ = Ref(x, y);
    pred_ = static_cast<uint32_t>(
        std::clamp<int64_t>(t_ + PlanePrediction(false, -hi), 0, hi));
    return;
  }
  t_ = 0;
  pred_ = static_cast<uint32_t>(PlanePrediction(place_.ref >= 0, 0));
}

int64_t SamplePredictor::PlanePrediction(bool ref, int64_t lo) {
  const uint64_t x = place_.x, y = place_.y;
  const int64_t hi = static_cast<int64_t>(mask_);
  inner_ = x > 0 && y > 0;
  if (inner_) {
    // MED, W, N, NE, (W + NE) / 2, W + N - NW, W + NE - N, (W + N) / 2; with
    // a reference plane (value T here, MED' its MED): MED + T - MED', T, MED,
    // W, N, NE, (W + N) / 2, W + T - T_W.
    const int64_t W = Cur(x - 1, y), N = Cur(x, y - 1), NW = Cur(x - 1, y - 1);
    const int64_t NE = x + 1 < place_.w ? Cur(x + 1, y - 1) : N;
    const int64_t med = Med(W, N, NW);
    if (ref) {
      const int64_t t = Ref(x, y);
      const int64_t q = Med(Ref(x - 1, y), Ref(x, y - 1), Ref(x - 1, y - 1));
      c_ = {std::clamp<int64_t>(med + t - q, lo, hi),
            t,
            med,
            W,
            N,
            NE,
            (W + N + 1) >> 1,
            std::clamp<int64_t>(W + t - Ref(x - 1, y), lo, hi)};
    } else {
      c_ = {med,
            W,
            N,
            NE,
            (W + NE + 1) >> 1,
            std::clamp<int64_t>(W + N - NW, lo, hi),
            std::clamp<int64_t>(W + NE - N, lo, hi),
            (W + N + 1) >> 1};
    }
    return Blend(lo);
  }
  if (y == 0 && x == 0) return ref ? Ref(0, 0) : 0;
  if (y == 0) {
    const int64_t p = Cur(x - 1, 0);
    return ref ? std::clamp<int64_t>(p + Ref(x, 0) - Ref(x - 1, 0), lo, hi) : p;
  }
  const int64_t p = Cur(0, y - 1);
  return ref ? std::clamp<int64_t>(p + Ref(0, y) - Ref(0, y - 1), lo, hi) : p;
}

int64_t SamplePredictor::SignedValue(int64_t s) const { return Signed(value(s), g_.format); }

int64_t SamplePredictor::Around(int64_t dx, int64_t dy) const {
  const int64_t x = static_cast<int64_t>(place_.x) + dx,
                y = static_cast<int64_t>(place_.y) + dy;
  if (x < 0 || y < 0 || x >= static_cast<int64_t>(place_.w))
    return PlaneTermsPrediction();
  return Cur(x, y);
}

// Candidates weighted by 2^40 / (1 + e)^2, e = their errors at W and N
// (twice) and at NW and NE (NE: N on the last column), rounded; candidates
// are >= lo.
int64_t SamplePredictor::Blend(int64_t lo) const {
  const uint64_t x = place_.x, y = place_.y;
  const uint64_t ne = x + 1 < place_.w ? x + 1 : x;
  uint64_t num = 0, den = 0;
  for (int k = 0; k < kCandidates; ++k) {
    const uint32_t* r = ErrRow(y, k);
    const uint32_t* u = ErrRow(y - 1, k);
    const uint64_t e =
        1 + 2 * uint64_t{r[x - 1]} + 2 * uint64_t{u[x]} + u[x - 1] + u[ne];
    const uint64_t weight = (uint64_t{1} << 40) / (e * e);
    num += weight * static_cast<uint64_t>(c_[k] - lo);
    den += weight;
  }
  return lo + static_cast<int64_t>((num + den / 2) / den);
}

void SamplePredictor::Push(uint32_t value) {
  value &= mask();
  values_.push_back(value);
  if (g_.modality == Modality::kAudio) {
    const int64_t x = Signed(value, g_.format);
    // Each filter learns from its own input and error.
    const int64_t r_link = x - fixed_ - p_link_;
    const int64_t r_long = r_link - p_long_, r_mid = r_long - p_mid_;
    if (place_.base >= place_.w) {
      link_w_ = std::clamp<int64_t>(link_w_ + 32 * Sign(r_link) * Sign(link_d_), -(1 << 24), 1 << 24);
    }
    lms_long_.Update(r_link, r_long);
    lms_mid_.Update(r_long, r_mid);
    lms_short_.Update(r_mid, r_mid - p_short_);
    s1_ = x;
  } else if (g_.modality != Modality::kBytes) {
    for (int k = 0; k < kCandidates; ++k) {
      ErrRow(place_.y, k)[place_.x] =
          inner_ ? static_cast<uint32_t>(std::abs(int64_t{value} - t_ - c_[k]))
                 : 0;
    }
  }
  ++pos_;
  if (++place_.x == place_.w) {
    place_.x = 0;
    ++place_.y;
  }
  if (done()) return;
  if (pos_ == plane_end_) StartPlane(pos_);
  Predict();
}

}  // namespace lmc::media
