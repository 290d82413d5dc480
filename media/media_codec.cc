#include "media/media_codec.h"

#include "absl/status/status.h"
#include "media/front_ends.h"
#include "media/layout.h"
#include "media/sample_stream.h"
#include "core/varint.h"

namespace lmc::media {
namespace {

struct Params {
  uint64_t tokens = 0;
  uint64_t container = 0;
  Geometry geometry;
};

absl::StatusOr<Params> ReadParams(Modality modality, std::string_view s) {
  Params p;
  if (!GetVarint(&s, &p.tokens) || !GetVarint(&s, &p.container) ||
      p.container > p.tokens) {
    return absl::DataLossError("front-end parameters are corrupt");
  }
  absl::StatusOr<Geometry> g = Geometry::Parse(s);
  if (!g.ok()) return g.status();
  p.geometry = *g;
  p.geometry.modality = modality;
  const int bytes = SampleBytes(p.geometry.format);
  if (!SamplesFit(p.geometry) || p.geometry.samples > p.tokens ||
      p.tokens != p.container + p.geometry.samples * bytes) {
    return absl::DataLossError("front-end geometry is inconsistent");
  }
  return p;
}

}  // namespace

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
  if (!SamplesFit(layout.geometry) ||
      tokens.size() != layout.container + layout.geometry.samples *
                                              SampleBytes(layout.geometry.format)) {
    return absl::DataLossError("media token count mismatch");
  }
  absl::StatusOr<std::string> raw =
      TokensToSamples(layout.geometry, tokens.substr(layout.container));
  if (!raw.ok()) return raw.status();
  absl::StatusOr<std::string> file = Join(tokens.substr(0, layout.container), *raw);
  if (!file.ok()) return absl::DataLossError(file.status().message());
  return file;
}

absl::StatusOr<TokenLayout> ParamsLayout(Modality modality,
                                         std::string_view params) {
  absl::StatusOr<Params> p = ReadParams(modality, params);
  if (!p.ok()) return p.status();
  return TokenLayout{p->geometry, p->container};
}

absl::StatusOr<Geometry> ParamsGeometry(Modality modality,
                                        std::string_view params) {
  absl::StatusOr<Params> p = ReadParams(modality, params);
  if (!p.ok()) return p.status();
  return p->geometry;
}

}  // namespace lmc::media
