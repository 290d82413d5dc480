#include "media/front_ends.h"

#include <cctype>

namespace lmc::media {

Split SplitMedia(std::string_view file, std::optional<Modality> modality) {
  std::optional<Split> s;
  const auto want = [&](Modality m) { return !modality || *modality == m; };
  if (want(Modality::kImage)) s = SplitPnm(file);
  if (!s && want(Modality::kAudio)) s = SplitWav(file);
  if (!s && want(Modality::kVideo)) s = SplitY4m(file);
  if (s) return *std::move(s);
  Split bytes;
  bytes.geometry.modality = Modality::kBytes;
  return bytes;
}

bool MayBeMedia(std::string_view p, std::optional<Modality> modality) {
  const auto want = [&](Modality m) { return !modality || *modality == m; };
  const bool pnm = p.size() >= 3 && p[0] == 'P' && (p[1] == '5' || p[1] == '6' || p[1] == '7') &&
                   std::isspace(static_cast<unsigned char>(p[2]));
  const bool wav = p.size() >= 12 && p.substr(0, 4) == "RIFF" && p.substr(8, 4) == "WAVE";
  const bool y4m = p.substr(0, 10) == "YUV4MPEG2 ";
  return (pnm && want(Modality::kImage)) || (wav && want(Modality::kAudio)) ||
         (y4m && want(Modality::kVideo));
}

}  // namespace lmc::media
