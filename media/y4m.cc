// YUV4MPEG2 streams of 8-bit planes: 4:2:0 (any chroma siting), 4:4:4, mono.
#include <charconv>

#include "media/front_ends.h"

namespace lmc::media {
namespace {

constexpr std::string_view kMagic = "YUV4MPEG2";
constexpr std::string_view kFrame = "FRAME";
constexpr uint32_t kMaxSide = 1u << 16;

bool ParseUint(std::string_view s, uint32_t* v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::optional<Split> SplitY4m(std::string_view file) {
  if (file.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  const size_t eol = file.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  Geometry g;
  g.modality = Modality::kVideo;
  g.chroma_shift = 1;  // C420jpeg is the default
  uint32_t planes = 3;
  // Parameters are space-separated, each a letter and a value.
  std::string_view params = file.substr(kMagic.size(), eol - kMagic.size());
  bool width = false, height = false;
  while (!params.empty()) {
    if (params[0] != ' ') return std::nullopt;
    params.remove_prefix(1);
    const size_t end = std::min(params.find(' '), params.size());
    const std::string_view p = params.substr(0, end);
    params.remove_prefix(end);
    if (p.empty()) return std::nullopt;
    const std::string_view value = p.substr(1);
    if (p[0] == 'W') {
      width = ParseUint(value, &g.width);
    } else if (p[0] == 'H') {
      height = ParseUint(value, &g.height);
    } else if (p[0] == 'C') {
      if (value == "420" || value == "420jpeg" || value == "420paldv" ||
          value == "420mpeg2") {
        g.chroma_shift = 1;
      } else if (value == "444") {
        g.chroma_shift = 0;
      } else if (value == "mono") {
        planes = 1;
        g.chroma_shift = 0;
      } else {
        return std::nullopt;  // 4:2:2, 4:1:1, alpha, more than 8 bits
      }
    }
    // F (rate), I (interlacing), A (aspect), X (extensions) only describe.
  }
  if (!width || !height || g.width == 0 || g.height == 0 ||
      g.width > kMaxSide || g.height > kMaxSide) {
    return std::nullopt;
  }
  const uint64_t luma = uint64_t{g.width} * g.height;
  const uint64_t cw = (g.width + g.chroma_shift) >> g.chroma_shift;
  const uint64_t ch = (g.height + g.chroma_shift) >> g.chroma_shift;
  const uint64_t frame_bytes = luma + (planes - 1) * cw * ch;
  g.channels = planes;
  ContainerWriter w(file);
  size_t at = eol + 1;
  for (;;) {
    // Each frame: "FRAME", its own parameters, a newline, the planes.
    if (file.substr(at, kFrame.size()) != kFrame) break;
    const size_t line_end = file.find('\n', at);
    if (line_end == std::string_view::npos) break;
    const size_t data = line_end + 1;
    if (file.size() - data < frame_bytes) break;  // a cut frame stays verbatim
    w.Samples(data, frame_bytes);
    g.samples += frame_bytes;
    at = data + frame_bytes;
  }
  Split s;
  s.geometry = g;
  s.container = w.Finish(&s.raw_samples);
  return s;
}

}  // namespace lmc::media
