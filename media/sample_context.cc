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

uint32_t Hash(uint32_t tag, uint64_t a, uint64_t b) {
  const uint64_t v = (a * 0x9E3779B97F4A7C15ull) ^ (b + 0x632BE59BD9B4E019ull) * 0xD6E8FEB86659FD93ull;
  return static_cast<uint32_t>((v ^ (v >> 29)) * 0xBF58476D1CE4E5B9ull >> 32) + tag * 0x9E3779B1u;
}

}  // namespace

SampleContext::SampleContext(const TokenLayout& layout, uint64_t first_token)
    : g_(layout.geometry),
      container_(layout.container),
      bytes_(SampleBytes(g_.format)),
      token_(first_token) {
  first_sample_ = first_token > container_ ? (first_token - container_) / bytes_ : 0;
  // A chunk that starts inside a sample: that sample's earlier bytes are not
  // seen; its residual is recorded from the bytes that are.
}

void SampleContext::Neighbours(uint64_t s, std::array<int64_t, 5>* n) const {
  n->fill(-1);
  auto& [w, north, nw, ne, p] = *n;
  uint64_t width = g_.width, height = g_.height, plane = 0, q = 0;
  switch (g_.modality) {
    case Modality::kImage:
      plane = width * height;
      q = s % plane;
      break;
    case Modality::kAudio: {
      const uint64_t per = g_.samples / g_.channels;
      q = s % per;
      if (q > 0) w = s - 1;
      if (q > 1) north = s - 2;
      if (q > 2) nw = s - 3;
      if (s >= per) p = s - per;
      return;
    }
    case Modality::kVideo: {
      const uint64_t frame = g_.VideoFrameSamples();
      const uint64_t r = s % frame, luma = width * height;
      if (s >= frame) p = s - frame;
      if (r < luma) {
        q = r;
      } else {
        width = (width + g_.chroma_shift) >> g_.chroma_shift;
        height = (height + g_.chroma_shift) >> g_.chroma_shift;
        q = (r - luma) % (width * height);
      }
      break;
    }
    case Modality::kBytes:
      return;
  }
  const uint64_t x = q % width, y = q / width;
  if (x > 0) w = s - 1;
  if (y > 0) north = s - width;
  if (x > 0 && y > 0) nw = s - width - 1;
  if (y > 0 && x + 1 < width) ne = s - width + 1;
  if (g_.modality == Modality::kImage && s >= plane) p = s - plane;
}

uint32_t SampleContext::Residual(int64_t s) const {
  if (s < 0 || static_cast<uint64_t>(s) < first_sample_) return 0;
  const uint64_t i = s - first_sample_;
  return i < z_.size() ? z_[i] : 0;
}

bool SampleContext::Next(std::array<uint32_t, kContexts>* h) const {
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
  (*h)[0] = Hash(0, at, e);
  (*h)[1] = Hash(1, at, uint64_t{Quantize(w)} << 8 | Quantize(north));
  (*h)[2] = Hash(2, at, uint64_t{std::min(w, 1023u)} << 10 | std::min(north, 1023u));
  (*h)[3] = Hash(3, at, uint64_t{Quantize(p)} << 8 | e);
  (*h)[4] = Hash(4, at, uint64_t{Quantize(north)} << 16 | Quantize(ne) << 8 | Quantize(nw));
  (*h)[5] = Hash(5, at, 0);
  return true;
}

void SampleContext::Push(uint8_t token) {
  if (token_++ < container_) return;
  partial_ = partial_ << 8 | token;
  if ((token_ - container_) % bytes_ == 0) {
    const uint64_t s = (token_ - container_) / bytes_ - 1;
    if (s >= first_sample_) z_.push_back(partial_);
    partial_ = 0;
  }
}

}  // namespace lmc::media
