// Compression with a converted Hugging Face model (hf/hf_int_model.h): the
// input is split into the model tokenizer's BPE tokens, the tokens into chunks
// of at most the model's context, and each chunk is range-coded from the exact
// integer logits (hf/hf_session.h, hf/token_coder.h). The result is an lmc frame
// with front-end "tokens" (docs/format.md) naming the converted file's
// fingerprint, which covers the tokenizer too.
//
//   LMC_ASSIGN_OR_RETURN(std::string frame, CompressTokens(model, data, {}));
//   LMC_ASSIGN_OR_RETURN(std::string back, DecompressTokens(model, frame, {}));
#ifndef LMC_HF_TOKEN_CODEC_H_
#define LMC_HF_TOKEN_CODEC_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "hf/hf_backend.h"
#include "hf/hf_int_model.h"

namespace lmc::hf {

struct TokenCodecOptions {
  int threads = 0;       // chunks coded at once; 0: one per core
  int chunk_tokens = 0;  // tokens per chunk; 0: as many as the context holds
  int lockstep = 16;     // chunks a thread steps together (one matrix product per
                         // weight and step); the bytes do not depend on it
  int encode_rows = 128;  // rows (chunks x positions) a compressor's pass feeds
  // What runs the model (hf/hf_backend.h); nullptr: the CPU kernels. The bytes
  // do not depend on it.
  const HfBackend* backend = nullptr;
  // Key/value caches of all chunks in flight stay under this; fewer chunks
  // step together when a long context would exceed it.
  size_t cache_budget_bytes = size_t{4} << 30;
  // Polled before every step; a non-OK answer (a deadline, a cancelled call)
  // stops the work and is returned.
  std::function<absl::Status()> check = nullptr;
};

// INVALID_ARGUMENT for a chunk size the model cannot take; INTERNAL if the
// tokenizer would not give the input back (it always should: checked anyway).
absl::StatusOr<std::string> CompressTokens(const HfIntModel& model, std::string_view data,
                                           const TokenCodecOptions& opt);

// DATA_LOSS for a corrupt or truncated frame, FAILED_PRECONDITION for a frame
// of another model, INVALID_ARGUMENT for a frame of another front-end.
absl::StatusOr<std::string> DecompressTokens(const HfIntModel& model, std::string_view frame,
                                             const TokenCodecOptions& opt);

}  // namespace lmc::hf

#endif  // LMC_HF_TOKEN_CODEC_H_
