// PNM (P5, P6) and PAM (P7) headers, as netpbm writes and reads them.
#include <cctype>
#include <charconv>
#include <string>

#include "media/front_ends.h"

namespace lmc::media {
namespace {

class HeaderReader {
 public:
  explicit HeaderReader(std::string_view s) : s_(s) {}
  // Whitespace and '#' comments (to the end of the line) before a token.
  void SkipSpace() {
    while (pos_ < s_.size()) {
      if (s_[pos_] == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(s_[pos_]))) {
        ++pos_;
      } else {
        break;
      }
    }
  }
  bool Number(uint32_t* v) {
    SkipSpace();
    const char* b = s_.data() + pos_;
    const auto [end, ec] = std::from_chars(b, s_.data() + s_.size(), *v);
    if (ec != std::errc() || end == b) return false;
    pos_ += end - b;
    return true;
  }
  // A token up to the next whitespace.
  std::string_view Word() {
    SkipSpace();
    const size_t b = pos_;
    while (pos_ < s_.size() &&
           !std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
    return s_.substr(b, pos_ - b);
  }
  // The rest of the current line, its newline consumed.
  void SkipLine() {
    while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
    if (pos_ < s_.size()) ++pos_;
  }
  bool OneSpace() {
    if (pos_ >= s_.size() ||
        !std::isspace(static_cast<unsigned char>(s_[pos_])))
      return false;
    ++pos_;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

constexpr uint32_t kMaxSide = 1u << 20;

std::optional<Split> Finish(std::string_view file, size_t raster_at,
                            Geometry g) {
  if (g.width == 0 || g.height == 0 || g.width > kMaxSide ||
      g.height > kMaxSide || g.max_value == 0 || g.max_value > 65535 ||
      g.channels == 0 || g.channels > 4) {
    return std::nullopt;
  }
  g.modality = Modality::kImage;
  g.format = g.max_value > 255 ? SampleFormat::kU16BE : SampleFormat::kU8;
  g.samples = uint64_t{g.width} * g.height * g.channels;
  const uint64_t bytes = g.samples * SampleBytes(g.format);
  if (raster_at > file.size() || file.size() - raster_at < bytes)
    return std::nullopt;
  Split s;
  s.geometry = g;
  ContainerWriter w(file);
  w.Samples(raster_at, bytes);
  s.container = w.Finish(&s.raw_samples);
  return s;
}

std::optional<Split> SplitPam(std::string_view file) {
  HeaderReader r(file);
  r.Word();  // "P7"
  Geometry g;
  bool width = false, height = false, depth = false, maxval = false;
  for (;;) {
    const std::string_view key = r.Word();
    if (key.empty()) return std::nullopt;
    if (key == "ENDHDR") break;
    if (key == "WIDTH") {
      width = r.Number(&g.width);
    } else if (key == "HEIGHT") {
      height = r.Number(&g.height);
    } else if (key == "DEPTH") {
      depth = r.Number(&g.channels);
    } else if (key == "MAXVAL") {
      maxval = r.Number(&g.max_value);
    } else if (key == "TUPLTYPE") {
      r.SkipLine();
    } else {
      return std::nullopt;
    }
  }
  // ENDHDR ends its line: the raster starts after the newline.
  if (!(width && height && depth && maxval)) return std::nullopt;
  r.SkipLine();
  return Finish(file, r.pos(), g);
}

}  // namespace

std::optional<Split> SplitPnm(std::string_view file) {
  if (file.size() < 3 || file[0] != 'P') return std::nullopt;
  if (file[1] == '7' && std::isspace(static_cast<unsigned char>(file[2])))
    return SplitPam(file);
  if (file[1] != '5' && file[1] != '6') return std::nullopt;
  HeaderReader r(file.substr(2));
  Geometry g;
  g.channels = file[1] == '6' ? 3 : 1;
  if (!r.Number(&g.width) || !r.Number(&g.height) || !r.Number(&g.max_value) ||
      !r.OneSpace()) {
    return std::nullopt;
  }
  return Finish(file, 2 + r.pos(), g);
}

}  // namespace lmc::media
