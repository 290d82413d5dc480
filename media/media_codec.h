// A media file as the token stream the engine codes, and back: the front-end
// (front_ends.h) splits the file, the container is kept as bytes, and the
// samples become prediction residuals (sample_stream.h).
//
//   MediaTokens m = ToTokens(file);           // m.modality == kBytes: not
//   media
//   ... frame front-end = m.modality, parameters = m.params, code m.tokens ...
//   LMC_ASSIGN_OR_RETURN(TokenLayout layout, ParamsLayout(modality, params));
//   LMC_ASSIGN_OR_RETURN(std::string file2, FromTokens(layout, tokens));
//
// Parameters (docs/format.md, "Front-ends"): varint(token count),
// varint(container bytes), then the Geometry record. Tokens: the container,
// then the sample tokens.
#ifndef LMC_MEDIA_MEDIA_CODEC_H_
#define LMC_MEDIA_MEDIA_CODEC_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "media/geometry.h"
#include "media/sample_context.h"

namespace lmc::media {

struct MediaTokens {
  Modality modality = Modality::kBytes;
  Geometry geometry;
  TokenLayout layout;
  std::string params;
  std::string tokens;
};

// `modality`: force a front-end (kBytes: none); nullopt: detect. A file the
// front-end does not take comes back as kBytes with no tokens: code the file.
MediaTokens ToTokens(std::string_view file,
                     std::optional<Modality> modality = std::nullopt);

// The file again from the stream's layout (ParamsLayout) and its tokens.
// DATA_LOSS if the tokens are not that stream's (a corrupt frame).
absl::StatusOr<std::string> FromTokens(const TokenLayout& layout,
                                       std::string_view tokens);

// The geometry recorded in a frame's parameters, for `lmc info`.
absl::StatusOr<Geometry> ParamsGeometry(Modality modality,
                                        std::string_view params);
// Where the samples are in the tokens, for the sample contexts and FromTokens;
// DATA_LOSS for parameters that do not describe a media stream.
absl::StatusOr<TokenLayout> ParamsLayout(Modality modality,
                                         std::string_view params);

}  // namespace lmc::media

#endif  // LMC_MEDIA_MEDIA_CODEC_H_
