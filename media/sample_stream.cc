#include "media/sample_stream.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "media/sample_predictor.h"

namespace lmc::media {
namespace {

int Bits(SampleFormat f) { return SampleBytes(f) * 8; }

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
  const std::vector<uint32_t> v = ReadValues(g.format, raw);
  std::string out;
  out.reserve(raw.size());
  // Tokens in walk order, most significant byte first.
  for (SamplePredictor sp(g); !sp.done(); ) {
    const uint32_t x = v[SamplePredictor::RawIndex(g, sp.position())];
    const int64_t s = static_cast<int64_t>(((x - sp.prediction()) & sp.mask()) ^ half) - half;
    const auto z = static_cast<uint32_t>(s >= 0 ? 2 * s : -2 * s - 1);
    for (int b = bits - 8; b >= 0; b -= 8) out.push_back(static_cast<char>(z >> b));
    sp.Push(x);
  }
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
  for (SamplePredictor sp(g); !sp.done(); ) {
    uint32_t z = 0;
    for (int b = 0; b < n; ++b) z = z << 8 | *t++;
    const uint64_t i = SamplePredictor::RawIndex(g, sp.position());
    v[i] = sp.PushResidual(z);
  }
  std::string raw;
  WriteValues(g.format, v, &raw);
  return raw;
}

}  // namespace lmc::media
