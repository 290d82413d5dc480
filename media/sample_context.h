// Contexts for the context mixer (engine/context_mixer.h) from the structure
// of a media token stream: while a sample's residual bytes are coded, the
// mixer's twelve sample contexts look at the residuals of the sample's
// neighbours - west, north, north-west, north-east and the same position one
// plane (or video frame, or audio channel) earlier - and at the neighbours'
// values against the sample's prediction, which the chunk's own copy of the
// predictor (media/sample_predictor.h) restores token by token. The
// transformer sees 256 tokens back, less than an image row; these contexts
// see the 2-D neighbourhood. Container tokens keep the byte contexts.
// docs/format.md ("Sample contexts") specifies the hashes.
//
//   SampleContext sc(layout, first_token_of_chunk);
//   per token: SampleContext::Contexts c;
//              if (sc.Next(&c)) mixer.SetSampleContexts(c.hashes.data(), c.activity, c.shape);
//              ... code the token ...; sc.Push(token);
#ifndef LMC_MEDIA_SAMPLE_CONTEXT_H_
#define LMC_MEDIA_SAMPLE_CONTEXT_H_

#include <array>
#include <cstdint>
#include <vector>

#include "media/geometry.h"
#include "media/sample_predictor.h"

namespace lmc::media {

// Where the samples are in a media token stream.
struct TokenLayout {
  Geometry geometry;
  uint64_t container = 0;  // tokens before the first sample token
  // The stream's length: the container, then every sample's bytes. Only
  // meaningful where SamplesFit(geometry) holds (it bounds the product).
  uint64_t tokens() const { return container + geometry.samples * SampleBytes(geometry.format); }
  bool operator==(const TokenLayout&) const = default;
};

class SampleContext {
 public:
  static constexpr int kContexts = 12;
  // What the mixer (ContextMixer::SetSampleContexts) takes for one token.
  struct Contexts {
    std::array<uint32_t, kContexts> hashes;
    int activity;  // 0..31: how large the neighbours' residuals are
    int shape;     // 0..255: where W (high nibble) and N lie around the prediction
  };
  // A chunk's contexts; it starts at token `first_token` of the stream and
  // sees only its own tokens (samples before it count as 0).
  SampleContext(const TokenLayout& layout, uint64_t first_token);
  // The contexts of the next token; false when it is a container token.
  bool Next(Contexts* c) const;
  void Push(uint8_t token);

 private:
  // Sample indices of the neighbours W, N, NW, NE, P of sample s; -1 if none.
  void Neighbours(uint64_t s, std::array<int64_t, 5>* n) const;
  uint32_t Residual(int64_t s) const;

  Geometry g_;
  uint64_t container_;
  int bytes_;              // tokens per sample
  uint64_t token_;         // index of the next token in the stream
  uint64_t first_sample_;  // z_[0] is this sample's residual
  std::vector<uint32_t> z_;
  uint32_t partial_ = 0;  // bytes of the current sample so far
  SamplePredictor predictor_;  // the chunk's samples and their predictions
};

}  // namespace lmc::media

#endif  // LMC_MEDIA_SAMPLE_CONTEXT_H_
