// libFuzzer target for every decode path: frame parsing, the chunk index, the
// range decoder and the model-driven decode. Whatever the input, Decompress must
// return an error or data whose checksum matched; never crash, hang or allocate
// beyond what the input's size allows (the frame bounds chunk sizes).
//
// Inputs are tried both as they come and with a valid frame prefix for the tiny
// model, so the fuzzer reaches past the header checksum; the same for a tiny
// converted Hugging Face model's BPE-token frames (front-end 04).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "core/frame.h"
#include "core/varint.h"
#include "engine/codec.h"
#include "hf/hf_int_model.h"
#include "hf/tiny_checkpoint.h"
#include "hf/token_codec.h"
#include "model/random_model.h"

namespace {

const lmc::IntModel& Model() {
  static const lmc::IntModel* m =
      lmc::IntModel::FromBytes(lmc::MakeRandomModel(lmc::MicroConfig(), 1)).value().release();
  return *m;
}

const lmc::hf::HfIntModel& Converted() {
  static const lmc::hf::HfIntModel* m =
      lmc::hf::HfIntModel::FromBytes(lmc::hf::testing::TinyConvertedGpt2(1).value()).value().release();
  return *m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lmc::IntModel& m = Model();
  lmc::CodecOptions opt;
  opt.threads = 1;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)lmc::Decompress(m, in, opt);
  // A well-formed header for the input's first bytes, then the rest as payload:
  // exercises the range decoder and model on arbitrary coded bytes.
  if (size >= 2) {
    const uint32_t tokens = data[0] + 1u;
    std::string payload(in.substr(1));
    if (payload.size() < lmc::kMinChunkPayload) payload.resize(lmc::kMinChunkPayload);
    lmc::FrameHeader h;
    h.model = m.fingerprint();
    h.original_bytes = tokens;
    h.chunk_tokens = tokens;
    h.chunks = {{tokens, payload.size()}};
    (void)lmc::Decompress(m, lmc::WriteFrame(h, {payload}), opt);
  }
  const lmc::hf::HfIntModel& c = Converted();
  lmc::hf::TokenCodecOptions copt;
  copt.threads = 1;
  (void)lmc::hf::DecompressTokens(c, in, copt);
  if (size >= 2) {
    const uint32_t tokens = data[0] % 23 + 1;  // one chunk within the context
    std::string payload(in.substr(1));
    if (payload.size() < lmc::kMinChunkPayload) payload.resize(lmc::kMinChunkPayload);
    lmc::FrameHeader h;
    h.front_end = lmc::FrontEnd::kTokens;
    lmc::PutVarint(&h.front_end_params, tokens);
    h.model = c.fingerprint();
    h.original_bytes = 4 * tokens;
    h.chunk_tokens = tokens;
    h.chunks = {{tokens, payload.size()}};
    (void)lmc::hf::DecompressTokens(c, lmc::WriteFrame(h, {payload}), copt);
  }
  return 0;
}
