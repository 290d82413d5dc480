// RIFF/WAVE with PCM samples: the first "data" chunk after a PCM "fmt " chunk.
#include <cstring>

#include "media/front_ends.h"

namespace lmc::media {
namespace {

uint32_t Le(std::string_view s, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

constexpr uint16_t kPcm = 1;
constexpr uint16_t kExtensible = 0xFFFE;

}  // namespace

std::optional<Split> SplitWav(std::string_view file) {
  if (file.size() < 12 || file.substr(0, 4) != "RIFF" ||
      file.substr(8, 4) != "WAVE") {
    return std::nullopt;
  }
  Geometry g;
  bool have_fmt = false;
  uint32_t block_align = 0;
  // Chunks are id, 32-bit size, data, and a pad byte when the size is odd.
  for (size_t at = 12; file.size() - at >= 8;) {
    const std::string_view id = file.substr(at, 4);
    const uint32_t size = Le(file, at + 4, 4);
    const size_t body = at + 8;
    if (id == "fmt ") {
      if (size < 16 || file.size() - body < 16) return std::nullopt;
      uint16_t tag = static_cast<uint16_t>(Le(file, body, 2));
      g.channels = Le(file, body + 2, 2);
      g.sample_rate = Le(file, body + 4, 4);
      block_align = Le(file, body + 12, 2);
      const uint32_t bits = Le(file, body + 14, 2);
      if (tag == kExtensible) {
        // cbSize 22, then valid bits, channel mask and the sub-format GUID,
        // whose first two bytes are the format tag.
        if (size < 40 || file.size() - body < 40) return std::nullopt;
        if (Le(file, body + 18, 2) != bits)
          return std::nullopt;  // padded containers
        tag = static_cast<uint16_t>(Le(file, body + 24, 2));
      }
      if (tag != kPcm || g.channels == 0 || g.channels > 8) return std::nullopt;
      switch (bits) {
        case 8:
          g.format = SampleFormat::kU8;
          g.max_value = 255;
          break;
        case 16:
          g.format = SampleFormat::kS16LE;
          g.max_value = 65535;
          break;
        case 24:
          g.format = SampleFormat::kS24LE;
          g.max_value = 0xFFFFFF;
          break;
        default:
          return std::nullopt;
      }
      if (block_align != g.channels * bits / 8) return std::nullopt;
      have_fmt = true;
    } else if (id == "data") {
      if (!have_fmt) return std::nullopt;
      // Writers that stream leave the size 0 or 0xFFFFFFFF: take what is there.
      const size_t avail = std::min<size_t>(size, file.size() - body);
      const size_t frames = avail / block_align;
      g.modality = Modality::kAudio;
      g.samples = uint64_t{frames} * g.channels;
      Split s;
      s.geometry = g;
      ContainerWriter w(file);
      w.Samples(body, frames * block_align);
      s.container = w.Finish(&s.raw_samples);
      return s;
    }
    if (size > file.size() - body) return std::nullopt;
    at = body + size + (size & 1);
    if (at > file.size()) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace lmc::media
