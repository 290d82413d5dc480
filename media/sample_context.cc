#include "media/sample_context.h"

#include <algorithm>
#include <bit>

namespace lmc::media {
namespace {

// A log scale with half steps: 0..7 exactly, then two buckets per octave.
uint32_t Quantize(uint32_t z) {
  if (z < 8) return z;
  const int w = std::bit_width(z);
  return 8 + 2 * (w - 4) + ((z >> (w - 2)) & 1);
}

// A residual's quantized magnitude and its sign.
uint32_t SignedQ(uint32_t z) { return Quantize(z >> 1) << 1 | (z & 1); }

uint32_t Hash(uint32_t tag, uint64_t a, uint64_t b) {
  const uint64_t v = (a * 0x9E3779B97F4A7C15ull) ^ (b + 0x632BE59BD9B4E019ull) * 0xD6E8FEB86659FD93ull;
  return static_cast<uint32_t>((v ^ (v >> 29)) * 0xBF58476D1CE4E5B9ull >> 32) + tag * 0x9E3779B1u;
}

}  // namespace

SampleContext::SampleContext(const TokenLayout& layout, uint64_t first_token)
    : g_(layout.geometry),
      container_(layout.container),
      bytes_(SampleBytes(g_.format)),
      token_(first_token),
      first_sample_(first_token > container_ ? (first_token - container_) / bytes_ : 0),
      predictor_(g_, first_sample_) {
  // A chunk that starts inside a sample: that sample's earlier bytes are not
  // seen; its residual is recorded from the bytes that are.
}

void SampleContext::Neighbours(uint64_t s, std::array<int64_t, 5>* n) const {
  // s is the predictor's current sample: its place says where s lies.
  n->fill(-1);
  auto& [w, north, nw, ne, p] = *n;
  const SamplePredictor::Place& pl = predictor_.place();
  const uint64_t x = pl.x, y = pl.y, size = pl.w * pl.h;
  if (g_.modality == Modality::kAudio) {
    // A channel is one row: W, N, NW are the previous three samples.
    if (x > 0) w = s - 1;
    if (x > 1) north = s - 2;
    if (x > 2) nw = s - 3;
  } else {
    if (x > 0) w = s - 1;
    if (y > 0) north = s - pl.w;
    if (x > 0 && y > 0) nw = s - pl.w - 1;
    if (y > 0 && x + 1 < pl.w) ne = s - pl.w + 1;
  }
  // P: the same place one frame earlier (video), else one plane or channel
  // earlier in the walk.
  if (g_.modality == Modality::kVideo) {
    if (pl.ref >= 0) p = pl.ref + (s - pl.base);
  } else if (pl.base >= size) {
    p = s - size;
  }
}

uint32_t SampleContext::Residual(int64_t s) const {
  if (s < 0 || static_cast<uint64_t>(s) < first_sample_) return 0;
  const uint64_t i = s - first_sample_;
  return i < z_.size() ? z_[i] : 0;
}

bool SampleContext::Next(Contexts* c) const {
  if (token_ < container_) return false;
  const uint64_t t = token_ - container_;
  const uint64_t s = t / bytes_;
  const uint64_t b = t % bytes_;
  std::array<int64_t, 5> n;
  Neighbours(s, &n);
  const uint32_t w = Residual(n[0]), north = Residual(n[1]), nw = Residual(n[2]),
                 ne = Residual(n[3]), p = Residual(n[4]);
  const uint32_t e = Quantize(w + north + (nw + ne) / 2);
  const uint64_t at = b << 24 | partial_;  // which byte of the sample, and those before it
  // Sample values around this one against its prediction, in the plane's
  // terms (red and blue: their differences to green), top 8 bits.
  const SamplePredictor& sp = predictor_;
  const int shift = bytes_ * 8 - 8;
  const int64_t pr = sp.PlaneTermsPrediction();
  const auto d = [&](int64_t dx, int64_t dy) {  // -7..7, +8
    return static_cast<uint64_t>(std::clamp<int64_t>((sp.Around(dx, dy) - pr) >> shift, -7, 7) + 8);
  };
  const auto c15 = [&](int64_t v) {  // -15..15, +16
    return static_cast<uint64_t>(std::clamp<int64_t>(v >> shift, -15, 15) + 16);
  };
  const auto sign = [&](int64_t dx, int64_t dy, int64_t dx2, int64_t dy2) {  // 0, 1, 2
    const int64_t a = sp.Around(dx, dy), z = sp.Around(dx2, dy2);
    return static_cast<uint64_t>((a > z) - (a < z) + 1);
  };
  const int64_t W = sp.Around(-1, 0), N = sp.Around(0, -1);
  const uint64_t dw = d(-1, 0), dn = d(0, -1), dnw = d(-1, -1), dne = d(1, -1);
  const uint64_t top = static_cast<uint64_t>(pr >> shift) & 0x3FF;
  auto& h = c->hashes;
  h[0] = Hash(0, at, e);
  h[1] = Hash(1, at, uint64_t{SignedQ(w)} << 8 | SignedQ(north));
  h[2] = Hash(2, at,
              sign(0, -1, -1, -1) << 18 | sign(-1, 0, -1, -1) << 16 | sign(1, -1, 0, -1) << 14 |
                  sign(0, -1, 0, -2) << 12 | sign(-1, 0, -2, 0) << 10 | top >> 2);
  h[3] = Hash(3, at, uint64_t{Quantize(p)} << 8 | e);
  h[4] = Hash(4, at, uint64_t{Quantize(north)} << 16 | Quantize(ne) << 8 | Quantize(nw));
  h[5] = Hash(5, at, d(1, -2) << 16 | d(-1, -2) << 12 | d(2, -1) << 8 | d(-2, -1) << 4 | dne);
  h[6] = Hash(6, at, top);
  h[7] = Hash(7, at, (static_cast<uint64_t>(W >> shift) & 0x3FF) << 8 | dn << 4 | dw);
  h[8] = Hash(8, at, dw << 16 | dn << 12 | dnw << 8 | dne << 4);
  h[9] = Hash(9, at, d(-2, 0) << 16 | d(0, -2) << 12 | dw << 8 | dn << 4);
  const SamplePredictor::Place& pl = sp.place();
  if (pl.ref >= 0 && pl.x > 0 && pl.y > 0 && pl.difference) {
    // Green's changes from W and N to here.
    const int64_t g = sp.RefAround(0, 0);
    const uint64_t gw = c15(g - sp.RefAround(-1, 0)), gn = c15(g - sp.RefAround(0, -1));
    h[10] = Hash(10, at, gw << 8 | gn);
    h[11] = Hash(11, at, gw << 16 | gn << 8 | dw << 4 | dn);
  } else if (pl.ref >= 0 && pl.x > 0 && pl.y > 0) {
    // The change since the previous frame at W and N, against the predicted one.
    const int64_t cp = pr - sp.RefAround(0, 0), cw = W - sp.RefAround(-1, 0),
                  cn = N - sp.RefAround(0, -1);
    h[10] = Hash(10, at, c15(cw - cp) << 8 | c15(cn - cp));
    h[11] = Hash(11, at, (static_cast<uint64_t>(cw >> shift) & 0x3FF) << 8 | c15(cn - cw));
  } else {
    h[10] = Hash(10, at, dw << 8 | dn << 4 | std::min(e, 15u));
    h[11] = Hash(11, at, top << 8 | dw << 4 | dn);
  }
  c->activity = static_cast<int>(std::min(e, 31u));
  c->shape = static_cast<int>(dw << 4 | dn);
  return true;
}

void SampleContext::Push(uint8_t token) {
  if (token_++ < container_) return;
  partial_ = partial_ << 8 | token;
  if ((token_ - container_) % bytes_ == 0) {
    const uint64_t s = (token_ - container_) / bytes_ - 1;
    if (s >= first_sample_) {
      z_.push_back(partial_);
      predictor_.PushResidual(partial_);
    }
    partial_ = 0;
  }
}

}  // namespace lmc::media
