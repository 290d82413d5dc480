// The samples of a media file as a byte stream for the byte-level engine:
// each sample is replaced by its prediction residual from samples already
// coded - the 2-D neighbourhood for pixels (west, north, north-west: the
// LOCO-I median predictor), the previous two samples of the same channel for
// audio (a 16-bit sample is one value, predicted whole), for video the same
// pixel of the previous frame corrected by the spatial predictor's change -
// wrapped to the sample width, zigzagged (small magnitudes become small
// numbers) and written most significant byte first. Colour images go plane by
// plane, green first, and red and blue are predicted as green plus the
// prediction of their difference to green; audio goes channel by channel;
// video plane by plane. media/sample_predictor.h makes the predictions.
// docs/format.md ("Front-ends") specifies every step; the inverse is exact for
// any bytes whatever, so a corrupt payload cannot make it fail, only differ
// (and then the frame checksum refuses the result).
//
//   std::string tokens = SamplesToTokens(g, raw);        // tokens.size() ==
//   raw.size() absl::StatusOr<std::string> raw2 = TokensToSamples(g, tokens);
//   // == raw
#ifndef LMC_MEDIA_SAMPLE_STREAM_H_
#define LMC_MEDIA_SAMPLE_STREAM_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "media/geometry.h"

namespace lmc::media {

// Whether g.samples agrees with the rest of the geometry (what a front-end
// produces always does; a frame's parameters are checked with this).
bool SamplesFit(const Geometry& g);
// `raw` holds g.samples samples (SamplesFit(g)); the tokens are as many bytes.
std::string SamplesToTokens(const Geometry& g, std::string_view raw);
// DATA_LOSS unless SamplesFit(g) and the tokens are g.samples samples' worth.
absl::StatusOr<std::string> TokensToSamples(const Geometry& g,
                                            std::string_view tokens);

}  // namespace lmc::media

#endif  // LMC_MEDIA_SAMPLE_STREAM_H_
