// What the sample models need to know about a media file's samples: which
// modality, how a sample is stored, and how samples are arranged (pixels in
// rows, audio frames of interleaved channels, video frames of planes).
// Serialised into the lmc frame header's front-end parameters
// (docs/format.md, "Front-ends").
#ifndef LMC_MEDIA_GEOMETRY_H_
#define LMC_MEDIA_GEOMETRY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lmc::media {

// Values are the frame header's front-end byte.
enum class Modality : uint8_t {
  kBytes = 0,
  kImage = 1,
  kAudio = 2,
  kVideo = 3
};

// How one sample is stored in the file.
enum class SampleFormat : uint8_t {
  kU8 = 0,     // one byte, unsigned
  kU16BE = 1,  // two bytes, big-endian, unsigned (PNM with maxval > 255)
  kS16LE = 2,  // two bytes, little-endian, two's complement (WAV 16 bit)
  kS24LE = 3,  // three bytes, little-endian, two's complement (WAV 24 bit)
};
int SampleBytes(SampleFormat f);

struct Geometry {
  Modality modality = Modality::kBytes;
  SampleFormat format = SampleFormat::kU8;
  uint32_t max_value = 255;  // images: PNM maxval; otherwise the format's range
  uint32_t channels = 1;  // interleaved per pixel (image) or per frame (audio)
  uint32_t width = 0;     // image, video luma; audio: 0
  uint32_t height = 0;    // image, video luma; audio: 0
  uint32_t chroma_shift =
      0;  // video: 1 for 4:2:0 (chroma halved both ways), 0 for 4:4:4
  uint32_t sample_rate = 0;  // audio
  uint64_t samples = 0;      // total samples (values) in the file

  // Video: samples in one frame (the luma plane and the chroma planes).
  uint64_t VideoFrameSamples() const {
    const uint64_t cw = (uint64_t{width} + chroma_shift) >> chroma_shift;
    const uint64_t ch = (uint64_t{height} + chroma_shift) >> chroma_shift;
    return uint64_t{width} * height + (channels - 1) * cw * ch;
  }

  std::string Serialize() const;
  static absl::StatusOr<Geometry> Parse(std::string_view params);
  // "image 512x512x3 8-bit" and the like, for `lmc info`.
  std::string Describe() const;
  bool operator==(const Geometry&) const = default;
};

std::string_view ModalityName(Modality m);
// "bytes", "image", "audio", "video"; false for anything else.
bool ParseModality(std::string_view name, Modality* m);
// A front-end choice as the CLI and the RPC take it: "" or "auto" (nullopt:
// detect) or a modality name; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::optional<Modality>> ParseModalityChoice(std::string_view name);

}  // namespace lmc::media

#endif  // LMC_MEDIA_GEOMETRY_H_
