#include "media/media_codec.h"

#include "absl/status/status.h"
#include "media/front_ends.h"
#include "media/layout.h"
#include "media/sample_stream.h"
#include "core/varint.h"

namespace lmc::media {
MediaTokens ToTokens(std::string_view file, std::optional<Modality> modality) {
  MediaTokens m;
  Split s = SplitMedia(file, modality);
  if (s.geometry.modality == Modality::kBytes) return m;
  m.modality = s.geometry.modality;
  m.geometry = s.geometry;
  m.tokens = std::move(s.container);
  const size_t container = m.tokens.size();
  m.tokens += SamplesToTokens(s.geometry, s.raw_samples);
  m.layout = {s.geometry, container};
  PutVarint(&m.params, m.tokens.size());
  PutVarint(&m.params, container);
  m.params += s.geometry.Serialize();
  return m;
}

absl::StatusOr<std::string> FromTokens(const TokenLayout& layout,
                                       std::string_view tokens) {
  if (!SamplesFit(layout.geometry) || tokens.size() != layout.tokens()) {
    return absl::DataLossError("media token count mismatch");
  }
  absl::StatusOr<std::string> raw =
      TokensToSamples(layout.geometry, tokens.substr(layout.container));
  if (!raw.ok()) return raw.status();
  absl::StatusOr<std::string> file = Join(tokens.substr(0, layout.container), *raw);
  if (!file.ok()) return absl::DataLossError(file.status().message());
  return file;
}

// The recorded token count must be the one the layout implies.
absl::StatusOr<TokenLayout> ParamsLayout(Modality modality, std::string_view s) {
  TokenLayout l;
  uint64_t tokens;
  if (!GetVarint(&s, &tokens) || !GetVarint(&s, &l.container) || l.container > tokens) {
    return absl::DataLossError("front-end parameters are corrupt");
  }
  absl::StatusOr<Geometry> g = Geometry::Parse(s);
  if (!g.ok()) return g.status();
  l.geometry = *g;
  l.geometry.modality = modality;
  if (!SamplesFit(l.geometry) || l.geometry.samples > tokens || tokens != l.tokens()) {
    return absl::DataLossError("front-end geometry is inconsistent");
  }
  return l;
}

absl::StatusOr<Geometry> ParamsGeometry(Modality modality,
                                        std::string_view params) {
  absl::StatusOr<TokenLayout> l = ParamsLayout(modality, params);
  if (!l.ok()) return l.status();
  return l->geometry;
}

}  // namespace lmc::media
