// The compression engine: bytes <-> lmc frames with one integer model, chunks
// evaluated in batches on a pool of threads. This is local mode's whole job and
// the server's model work (the server feeds the same chunk functions from its
// batcher).
//
//   CodecOptions opt;  // chunk_tokens, threads, batch_chunks
//   LMC_ASSIGN_OR_RETURN(std::string frame, Compress(model, data, opt));
//   LMC_ASSIGN_OR_RETURN(std::string back, Decompress(model, frame, opt));
//
// Errors: DATA_LOSS for damaged frames, FAILED_PRECONDITION when the frame was
// made by another model, INVALID_ARGUMENT for something that is not a frame,
// UNIMPLEMENTED for a newer format version.
#ifndef LMC_ENGINE_CODEC_H_
#define LMC_ENGINE_CODEC_H_

#include <atomic>
#include <memory>
#include <optional>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/frame.h"
#include "media/geometry.h"
#include "media/sample_context.h"
#include "model/int_model.h"

namespace lmc {

// Chunk sizes when none is given: bytes, and a media front-end's token stream
// (its container and sample bytes; an 8-bit sample is one token, a 16-bit one
// two). Media chunks are larger because a sample's contexts learn the file's
// own statistics from nothing at every chunk start (a photo cut in two chunks
// costs about a tenth more), and no transformer context bounds them. A chunk
// of 2^23 tokens decodes in under a minute on one core, in about 250 MiB. Byte
// chunks of 2^21 keep files of up to 2 MiB whole: a 1.25 MB text cut in two
// chunks cost 5% more than in one (the second relearns the first's words), at
// the price of decoding it on one thread (with a helper) rather than two.
inline constexpr uint32_t kDefaultChunkTokens = 1 << 21;
inline constexpr uint32_t kDefaultMediaChunkTokens = 1 << 23;

struct CodecOptions {
  // Most tokens per independent chunk; an input is cut into equal chunks of at
  // most this many. Larger chunks compress better (the match model sees more
  // history, fewer cold starts); smaller ones decode in parallel. 0: the
  // defaults above, by front-end.
  uint32_t chunk_tokens = 0;
  int threads = 0;                // 0: one per hardware thread; decoding
                                  // fewer chunks than half of them, each
                                  // thread takes a helper (model/evaluator.h)
  int batch_chunks = 16;          // chunks one thread evaluates together
  int block_tokens = 128;         // compression: tokens per chunk per forward call
  // Compression with fewer chunks than threads: each chunk is evaluated in
  // segments of about this many tokens on all threads (0: never). A segment
  // re-reads StreamState::JoinWarmUp tokens (1020 for the default model).
  uint32_t segment_tokens = 32768;
  // The media front-end (nullopt: detected; kBytes: none).
  std::optional<media::Modality> modality = std::nullopt;
  // When set, incremented by the number of tokens coded, as work progresses.
  std::atomic<uint64_t>* progress = nullptr;
};

// Range-codes each chunk with a fresh context. Chunks are independent, so any
// split into threads and batches gives the same bytes.
// `layout`: the chunks are consecutive parts of a media front-end's token
// stream (CompressPlan::layout); null for bytes.
std::vector<std::string> EncodeChunks(const IntModel& model,
                                      const std::vector<std::string_view>& chunks,
                                      const CodecOptions& opt,
                                      const media::TokenLayout* layout = nullptr);

// Decodes chunk i, of tokens[i] tokens, from payloads[i]. DATA_LOSS if a payload
// does not end exactly where its last token does.
absl::StatusOr<std::vector<std::string>> DecodeChunks(
    const IntModel& model, const std::vector<std::span<const uint8_t>>& payloads,
    const std::vector<uint32_t>& tokens, const CodecOptions& opt,
    const media::TokenLayout* layout = nullptr);

// Compress and Decompress in steps, for callers that schedule the chunk work
// themselves (the server): plan, code the chunks, finish.
struct CompressPlan {
  FrameHeader header;
  std::unique_ptr<std::string> tokens;   // a media front-end's token stream
  std::shared_ptr<const media::TokenLayout> layout;  // with it, its layout
  std::vector<std::string_view> chunks;  // views into the input or `tokens`
};
// `modality`: the front-end to use (media/front_ends.h); nullopt detects it
// from the data, and data that no front-end takes is coded as bytes.
// `chunk_tokens` 0: kDefaultChunkTokens or kDefaultMediaChunkTokens.
absl::StatusOr<CompressPlan> PlanCompress(
    const IntModel& model, std::string_view data, uint32_t chunk_tokens,
    std::optional<media::Modality> modality = std::nullopt);
absl::StatusOr<std::string> FinishCompress(CompressPlan plan,
                                           const std::vector<std::string>& payloads);

struct DecompressPlan {
  ParsedFrame frame;             // payload views into the frame
  std::vector<uint32_t> tokens;  // per chunk
  std::shared_ptr<const media::TokenLayout> layout;  // media front-ends only
};
// Parses and validates the frame; does not check its model (frame.header.model).
absl::StatusOr<DecompressPlan> PlanDecompress(std::string_view frame);
// Joins the decoded chunks and checks the original's checksum.
absl::StatusOr<std::string> FinishDecompress(const DecompressPlan& plan,
                                             std::vector<std::string> parts);
// FAILED_PRECONDITION naming both fingerprints when the frame is not this model's.
absl::Status CheckModel(const IntModel& model, const FrameHeader& header);

absl::StatusOr<std::string> Compress(const IntModel& model, std::string_view data,
                                     const CodecOptions& opt = {});
absl::StatusOr<std::string> Decompress(const IntModel& model, std::string_view frame,
                                       const CodecOptions& opt = {});

}  // namespace lmc

#endif  // LMC_ENGINE_CODEC_H_
