#include "media/geometry.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/varint.h"

namespace lmc::media {

int SampleBytes(SampleFormat f) {
  switch (f) {
    case SampleFormat::kU8:
      return 1;
    case SampleFormat::kU16BE:
      return 2;
    case SampleFormat::kS16LE:
      return 2;
    case SampleFormat::kS24LE:
      return 3;
  }
  return 1;
}

std::string_view ModalityName(Modality m) {
  switch (m) {
    case Modality::kBytes:
      return "bytes";
    case Modality::kImage:
      return "image";
    case Modality::kAudio:
      return "audio";
    case Modality::kVideo:
      return "video";
  }
  return "unknown";
}

bool ParseModality(std::string_view name, Modality* m) {
  for (Modality c : {Modality::kBytes, Modality::kImage, Modality::kAudio,
                     Modality::kVideo}) {
    if (name == ModalityName(c)) {
      *m = c;
      return true;
    }
  }
  return false;
}

// Field order is the wire order (docs/format.md): format, max_value, channels,
// width, height, chroma_shift, sample_rate, samples, all varints. The modality
// itself is the frame's front-end byte.
absl::StatusOr<std::optional<Modality>> ParseModalityChoice(std::string_view name) {
  if (name.empty() || name == "auto") return std::optional<Modality>();
  Modality m;
  if (!ParseModality(name, &m)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown modality \"", std::string(name), "\" (auto, bytes, image, audio or video)"));
  }
  return std::optional<Modality>(m);
}

std::string Geometry::Serialize() const {
  std::string s;
  PutVarint(&s, static_cast<uint8_t>(format));
  for (uint64_t v : {uint64_t{max_value}, uint64_t{channels}, uint64_t{width},
                     uint64_t{height}, uint64_t{chroma_shift},
                     uint64_t{sample_rate}, samples}) {
    PutVarint(&s, v);
  }
  return s;
}

absl::StatusOr<Geometry> Geometry::Parse(std::string_view params) {
  Geometry g;
  uint64_t v[8];
  for (uint64_t& x : v) {
    if (!GetVarint(&params, &x))
      return absl::DataLossError("front-end parameters are truncated");
  }
  if (!params.empty() || v[0] > 3 || v[1] > 0xFFFFFF || v[2] == 0 ||
      v[2] > 65535 || v[3] > 0xFFFFFFFF || v[4] > 0xFFFFFFFF || v[5] > 1 ||
      v[6] > 0xFFFFFFFF || v[7] > (uint64_t{1} << 40)) {
    return absl::DataLossError("front-end parameters are corrupt");
  }
  g.format = static_cast<SampleFormat>(v[0]);
  g.max_value = static_cast<uint32_t>(v[1]);
  g.channels = static_cast<uint32_t>(v[2]);
  g.width = static_cast<uint32_t>(v[3]);
  g.height = static_cast<uint32_t>(v[4]);
  g.chroma_shift = static_cast<uint32_t>(v[5]);
  g.sample_rate = static_cast<uint32_t>(v[6]);
  g.samples = v[7];
  return g;
}

std::string Geometry::Describe() const {
  const int bits = SampleBytes(format) * 8;
  switch (modality) {
    case Modality::kImage:
      return absl::StrCat("image ", width, "x", height, "x", channels,
                          ", maxval ", max_value);
    case Modality::kAudio:
      return absl::StrCat("audio ", channels, " channel(s), ", sample_rate,
                          " Hz, ", bits, "-bit, ", samples / channels,
                          " frames");
    case Modality::kVideo:
      return absl::StrCat(
          "video ", width, "x", height,
          channels == 1  ? " mono, "
          : chroma_shift ? " 4:2:0, "
                         : " 4:4:4, ",
          VideoFrameSamples() ? samples / VideoFrameSamples() : 0, " frames");
    case Modality::kBytes:
      break;
  }
  return "bytes";
}

}  // namespace lmc::media
