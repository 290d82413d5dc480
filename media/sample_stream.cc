#include "media/sample_stream.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace lmc::media {
namespace {

int Bits(SampleFormat f) { return SampleBytes(f) * 8; }

// One plane of a raster: w samples per row, `stride` apart in the array.
struct PlaneView {
  const uint32_t* p;
  size_t w, stride;
  int64_t operator()(size_t x, size_t y) const { return p[(y * w + x) * stride]; }
};

// Raw sample bytes <-> unsigned values of Bits(format) bits (two's complement
// formats keep their bit pattern: prediction is modular).
std::vector<uint32_t> ReadValues(SampleFormat f, std::string_view raw) {
  const int n = SampleBytes(f);
  std::vector<uint32_t> v(raw.size() / n);
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  for (size_t i = 0; i < v.size(); ++i, p += n) {
    switch (f) {
      case SampleFormat::kU8:
        v[i] = p[0];
        break;
      case SampleFormat::kU16BE:
        v[i] = uint32_t{p[0]} << 8 | p[1];
        break;
      case SampleFormat::kS16LE:
        v[i] = uint32_t{p[1]} << 8 | p[0];
        break;
      case SampleFormat::kS24LE:
        v[i] = uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
        break;
    }
  }
  return v;
}

void WriteValues(SampleFormat f, const std::vector<uint32_t>& v,
                 std::string* raw) {
  const int n = SampleBytes(f);
  raw->resize(v.size() * n);
  auto* p = reinterpret_cast<uint8_t*>(raw->data());
  for (uint32_t x : v) {
    switch (f) {
      case SampleFormat::kU8:
        *p++ = static_cast<uint8_t>(x);
        break;
      case SampleFormat::kU16BE:
        *p++ = static_cast<uint8_t>(x >> 8);
        *p++ = static_cast<uint8_t>(x);
        break;
      case SampleFormat::kS16LE:
        *p++ = static_cast<uint8_t>(x);
        *p++ = static_cast<uint8_t>(x >> 8);
        break;
      case SampleFormat::kS24LE:
        *p++ = static_cast<uint8_t>(x);
        *p++ = static_cast<uint8_t>(x >> 8);
        *p++ = static_cast<uint8_t>(x >> 16);
        break;
    }
  }
}

inline int64_t Med(int64_t w, int64_t n, int64_t nw) {
  if (nw >= std::max(w, n)) return std::min(w, n);
  if (nw <= std::min(w, n)) return std::max(w, n);
  return w + n - nw;
}

// Predictions: pred(i) may read values[j] for j < i only, so the decoder,
// which restores values in order, computes the same.
class Predictor {
 public:
  static constexpr int kCandidates = 8;
  static constexpr int kLms = 32;       // audio: LMS filter order
  static constexpr int kLmsShift = 14;  // its weights' fraction bits
  static constexpr int kLmsStep = 16;   // its adaptation step
  explicit Predictor(const Geometry& g)
      : g_(g), mask_((uint64_t{1} << Bits(g.format)) - 1) {}
  uint32_t mask() const { return static_cast<uint32_t>(mask_); }

  // Walks every sample in order; fn(i, prediction) returns the value of sample
  // i.
  template <typename Fn>
  void Walk(std::vector<uint32_t>& v, Fn fn) const {
    switch (g_.modality) {
      case Modality::kImage:
        return Image(v, fn);
      case Modality::kAudio:
        return Audio(v, fn);
      case Modality::kVideo:
        return Video(v, fn);
      case Modality::kBytes:
        break;
    }
    for (size_t i = 0; i < v.size(); ++i) v[i] = fn(i, 0);
  }

 private:
  // One plane of w x h samples `stride` apart from `base`; `prev` the same
  // plane one frame earlier (or nullptr).
  template <typename Fn>
  void Plane(std::vector<uint32_t>& v, size_t base, size_t w, size_t h,
             size_t stride, const uint32_t* prev, Fn fn) const {
    const PlaneView cur{v.data() + base, w, stride}, at_prev{prev, w, stride};
    // Each candidate's absolute error on the current and the previous row.
    std::vector<uint32_t> err(2 * kCandidates * w, 0);
    const auto row = [&](size_t y, int k) { return &err[((y & 1) * kCandidates + k) * w]; };
    std::array<int64_t, kCandidates> c{};
    for (size_t y = 0; y < h; ++y) {
      for (size_t x = 0; x < w; ++x) {
        int64_t p;
        const bool inner = x > 0 && y > 0;
        if (inner) {
          Candidates(cur, prev ? &at_prev : nullptr, x, y, &c);
          p = Blend(c, x, y, w, row);
        } else if (y == 0 && x == 0) {
          p = prev ? at_prev(0, 0) : 0;
        } else if (y == 0) {
          p = cur(x - 1, 0);
          if (prev) p = std::clamp<int64_t>(p + at_prev(x, 0) - at_prev(x - 1, 0), 0, mask_);
        } else {
          p = cur(0, y - 1);
          if (prev) p = std::clamp<int64_t>(p + at_prev(0, y) - at_prev(0, y - 1), 0, mask_);
        }
        const size_t i = base + (y * w + x) * stride;
        v[i] = fn(i, static_cast<uint32_t>(p));
        for (int k = 0; k < kCandidates; ++k) {
          row(y, k)[x] = inner ? static_cast<uint32_t>(std::abs(int64_t{v[i]} - c[k])) : 0;
        }
      }
    }
  }

  // The predictions that Blend weighs, at an inner pixel (x, y > 0): without a
  // previous plane MED, W, N, NE, (W + NE) / 2, W + N - NW; with one (video)
  // MED + T - MED', T, MED, W, N, NE, where T is the previous plane's value
  // here and MED' its MED.
  void Candidates(const PlaneView& cur, const PlaneView* prev, size_t x, size_t y,
                  std::array<int64_t, kCandidates>* c) const {
    const int64_t W = cur(x - 1, y), N = cur(x, y - 1), NW = cur(x - 1, y - 1);
    const int64_t NE = x + 1 < cur.w ? cur(x + 1, y - 1) : N;
    const int64_t med = Med(W, N, NW);
    if (prev) {
      const PlaneView& t_at = *prev;
      const int64_t t = t_at(x, y);
      const int64_t q = Med(t_at(x - 1, y), t_at(x, y - 1), t_at(x - 1, y - 1));
      *c = {std::clamp<int64_t>(med + t - q, 0, mask_), t, med, W, N, NE, (W + N + 1) >> 1,
            std::clamp<int64_t>(W + t - t_at(x - 1, y), 0, mask_)};
    } else {
      *c = {med, W, N, NE, (W + NE + 1) >> 1, std::clamp<int64_t>(W + N - NW, 0, mask_),
            std::clamp<int64_t>(W + NE - N, 0, mask_), (W + N + 1) >> 1};
    }
  }

  // Candidates weighted by 2^40 / (1 + e)^2, e = their errors at W and N
  // (twice) and at NW and NE (NE: N on the last column), rounded.
  template <typename Row>
  int64_t Blend(const std::array<int64_t, kCandidates>& c, size_t x, size_t y, size_t w,
                Row row) const {
    uint64_t num = 0, den = 0;
    const size_t ne = x + 1 < w ? x + 1 : x;
    for (int k = 0; k < kCandidates; ++k) {
      const uint32_t* r = row(y, k);
      const uint32_t* u = row(y - 1, k);
      const uint64_t e = 1 + 2 * uint64_t{r[x - 1]} + 2 * uint64_t{u[x]} + u[x - 1] + u[ne];
      const uint64_t weight = (uint64_t{1} << 40) / (e * e);
      num += weight * static_cast<uint64_t>(c[k]);
      den += weight;
    }
    return static_cast<int64_t>((num + den / 2) / den);
  }

  template <typename Fn>
  void Image(std::vector<uint32_t>& v, Fn fn) const {
    const size_t c = g_.channels;
    // Colour: green first, then red and blue predicted by their own
    // neighbourhood plus green's residual at this pixel.
    if (c < 3) {
      for (size_t k = 0; k < c; ++k)
        Plane(v, k, g_.width, g_.height, c, nullptr, fn);
      return;
    }
    const size_t pixels = size_t{g_.width} * g_.height;
    std::vector<uint32_t> green_residual(pixels);
    Plane(v, 1, g_.width, g_.height, c, nullptr, [&](size_t i, uint32_t p) {
      const uint32_t x = fn(i, p);
      green_residual[i / c] = (x - p) & mask();
      return x;
    });
    for (size_t k = 0; k < c; ++k) {
      if (k == 1) continue;
      Plane(v, k, g_.width, g_.height, c, nullptr, [&](size_t i, uint32_t p) {
        return fn(i, k < 3 ? (p + green_residual[i / c]) & mask() : p);
      });
    }
  }

  template <typename Fn>
  void Audio(std::vector<uint32_t>& v, Fn fn) const {
    const size_t c = g_.channels;
    const int bits = Bits(g_.format);
    const int64_t offset = g_.format == SampleFormat::kU8 ? 128 : 0;
    // Signed sample values: 8-bit WAV is unsigned around 128, the others
    // two's complement.
    const auto value = [&](uint32_t u) -> int64_t {
      if (offset) return int64_t{u} - offset;
      const int64_t x = u;
      return x >= (int64_t{1} << (bits - 1)) ? x - (int64_t{1} << bits) : x;
    };
    for (size_t k = 0; k < c; ++k) {
      // Order-2 fixed prediction, then a sign-sign LMS filter of order kLms
      // over the fixed predictor's past residuals predicting its next one.
      std::array<int64_t, kLms> w{};
      std::vector<int64_t> r(kLms, 0);  // r[j]: the residual j + 1 samples back
      int64_t s1 = 0, s2 = 0;           // the two previous values
      size_t n = 0;
      for (size_t i = k; i < v.size(); i += c, ++n) {
        const int64_t fixed = n >= 2 ? 2 * s1 - s2 : n == 1 ? s1 : 0;
        int64_t acc = 0;
        for (int j = 0; j < kLms; ++j) acc += w[j] * r[j];
        const int64_t lms = (acc + (int64_t{1} << (kLmsShift - 1))) >> kLmsShift;
        const int64_t p = fixed + lms + offset;
        v[i] = fn(i, static_cast<uint32_t>(static_cast<uint64_t>(p) & mask_));
        const int64_t x = value(v[i]);
        const int64_t e = x - fixed - lms;
        const int64_t sign_e = (e > 0) - (e < 0);
        for (int j = 0; j < kLms; ++j) w[j] += sign_e * ((r[j] > 0) - (r[j] < 0)) * kLmsStep;
        std::rotate(r.rbegin(), r.rbegin() + 1, r.rend());
        r[0] = x - fixed;
        s2 = s1;
        s1 = x;
      }
    }
  }

  template <typename Fn>
  void Video(std::vector<uint32_t>& v, Fn fn) const {
    const size_t w = g_.width, h = g_.height, s = g_.chroma_shift;
    const size_t cw = (w + s) >> s, ch = (h + s) >> s;
    const size_t frame = g_.VideoFrameSamples();
    for (size_t f = 0; f * frame + frame <= v.size(); ++f) {
      size_t base = f * frame;
      for (size_t k = 0; k < g_.channels; ++k) {
        const size_t pw = k ? cw : w, ph = k ? ch : h;
        const uint32_t* prev = f ? v.data() + base - frame : nullptr;
        Plane(v, base, pw, ph, 1, prev, fn);
        base += pw * ph;
      }
    }
  }

  Geometry g_;
  uint64_t mask_;
};

}  // namespace

bool SamplesFit(const Geometry& g) {
  if (g.channels == 0) return false;
  // The bounds the front-ends accept, so that no product below overflows.
  switch (g.modality) {
    case Modality::kImage:
      return g.width <= (1u << 20) && g.height <= (1u << 20) &&
             g.channels <= 4 &&
             g.samples == uint64_t{g.width} * g.height * g.channels;
    case Modality::kAudio:
      return g.channels <= 8 && g.samples % g.channels == 0;
    case Modality::kVideo: {
      if (g.width > (1u << 16) || g.height > (1u << 16) ||
          (g.channels != 1 && g.channels != 3)) {
        return false;
      }
      const uint64_t frame = g.VideoFrameSamples();
      return frame > 0 && g.samples % frame == 0;
    }
    case Modality::kBytes:
      break;
  }
  return true;
}

std::string SamplesToTokens(const Geometry& g, std::string_view raw) {
  const int bits = Bits(g.format);
  const uint32_t half = 1u << (bits - 1);
  std::vector<uint32_t> v = ReadValues(g.format, raw);
  const Predictor pred(g);
  std::string out;
  out.reserve(raw.size());
  // Tokens in the order the predictor visits samples, most significant byte
  // first.
  pred.Walk(v, [&](size_t i, uint32_t p) {
    const int64_t s =
        static_cast<int64_t>(((v[i] - p) & pred.mask()) ^ half) - half;
    const auto z = static_cast<uint32_t>(s >= 0 ? 2 * s : -2 * s - 1);
    for (int b = bits - 8; b >= 0; b -= 8)
      out.push_back(static_cast<char>(z >> b));
    return v[i];
  });
  return out;
}

absl::StatusOr<std::string> TokensToSamples(const Geometry& g,
                                            std::string_view tokens) {
  const int bits = Bits(g.format);
  const int n = bits / 8;
  if (!SamplesFit(g) || tokens.size() != g.samples * n) {
    return absl::DataLossError("media samples do not match their geometry");
  }
  std::vector<uint32_t> v(tokens.size() / n);
  const auto* t = reinterpret_cast<const uint8_t*>(tokens.data());
  const Predictor pred(g);
  pred.Walk(v, [&](size_t, uint32_t p) {
    uint32_t z = 0;
    for (int b = 0; b < n; ++b) z = z << 8 | *t++;
    const int64_t s = (z & 1) ? -static_cast<int64_t>(z >> 1) - 1 : z >> 1;
    return static_cast<uint32_t>((p + static_cast<uint64_t>(s)) & pred.mask());
  });
  std::string raw;
  WriteValues(g.format, v, &raw);
  return raw;
}

}  // namespace lmc::media
