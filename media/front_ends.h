// The media front-ends: each recognises one file format and splits a file of
// it into samples and container (layout.h). Anything a front-end does not
// fully understand - another variant, a malformed or truncated header, a
// sample region cut short - it declines (nullopt), and the file is coded as
// plain bytes: compression never fails on odd input.
//
//   PNM/PAM  P5 (grey), P6 (RGB), P7 (PAM, depth 1-4); maxval up to 65535
//   WAVE     RIFF PCM (format 1 or extensible PCM), 8/16/24 bit, 1-8 channels
//   Y4M      YUV4MPEG2, 8-bit 4:2:0 (420, 420jpeg, 420paldv, 420mpeg2), 4:4:4,
//   mono
#ifndef LMC_MEDIA_FRONT_ENDS_H_
#define LMC_MEDIA_FRONT_ENDS_H_

#include <optional>
#include <string_view>

#include "media/layout.h"

namespace lmc::media {

std::optional<Split> SplitPnm(std::string_view file);
std::optional<Split> SplitWav(std::string_view file);
std::optional<Split> SplitY4m(std::string_view file);

// The front-end for `file`: the one of `modality` when given (kBytes: none),
// otherwise whichever recognises it. A Split of modality kBytes (empty
// container, no samples) when none does.
// Whether `prefix` starts like a file a front-end may take (the PNM/PAM,
// RIFF/WAVE or YUV4MPEG2 signature; `modality` as for SplitMedia), judged from
// its first 12 bytes: for a streaming caller deciding whether to gather the
// whole file before coding it. A true answer promises nothing about the rest.
bool MayBeMedia(std::string_view prefix, std::optional<Modality> modality = std::nullopt);

Split SplitMedia(std::string_view file,
                 std::optional<Modality> modality = std::nullopt);

}  // namespace lmc::media

#endif  // LMC_MEDIA_FRONT_ENDS_H_
