#include "media/front_ends.h"

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

}  // namespace lmc::media
