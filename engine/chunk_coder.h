// One chunk's coding state: the model's stream state, the match model, the
// context mixer and the range coder, advanced block by block by whoever batches
// the model work (local mode's thread groups, the server's scheduler). Chunks are
// independent, so the bytes do not depend on which chunks share a batch.
//
//   ChunkEncoder e(model, chunk);
//   while (!e.done()) {
//     if (!e.needs_model()) { e.CodeWithoutModel(); continue; }
//     in = e.NextInputs(128); evaluate {e.state(), in}; e.Code(freqs);
//   }
//   std::string payload = e.Finish();
//
// Media sample tokens (docs/format.md, "Sample tokens need no model") are coded
// from a flat table instead of the transformer's: the default text model
// predicted residuals worse than no model at all (measured: astronaut.ppm
// 337,868 bytes with the model, 335,718 without). They always end the token
// stream, so a chunk needs the model for a prefix (its container tokens) and
// for nothing after; CodeWithoutModel codes that tail.
#ifndef LMC_ENGINE_CHUNK_CODER_H_
#define LMC_ENGINE_CHUNK_CODER_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/range_coder.h"
#include "engine/context_mixer.h"
#include "engine/match_model.h"
#include "media/sample_context.h"
#include "model/evaluator.h"

namespace lmc {

// The model inputs for targets [at, at + n) of `chunk`: input t is the byte
// before target t, and BOS opens the chunk.
void ChunkInputs(std::string_view chunk, size_t at, size_t n, std::vector<int32_t>* inputs);

// About the bytes a chunk coder of `tokens` tokens holds (its context tables,
// match model and bytes; `media`: with sample contexts). The scheduler admits
// chunks by it (SchedulerOptions::memory_budget_bytes).
uint64_t ChunkCoderMemory(uint64_t tokens, bool media);

class ChunkEncoder {
 public:
  // `layout`: the stream is a media front-end's (outliving the encoder), and
  // the chunk starts at its token `first_token`; null for bytes.
  ChunkEncoder(const IntModel& model, std::string_view chunk,
               const media::TokenLayout* layout = nullptr, uint64_t first_token = 0);
  bool done() const { return pos_ >= chunk_.size(); }
  size_t remaining() const { return chunk_.size() - pos_; }
  // Whether the next token is coded with the model's frequencies; tokens
  // before model_end() are.
  bool needs_model() const { return pos_ < model_end_; }
  size_t model_remaining() const { return needs_model() ? model_end_ - pos_ : 0; }
  // Codes up to `max_tokens` of the remaining tokens when none needs the model
  // (a slice at a time lets the caller poll deadlines between slices).
  void CodeWithoutModel(size_t max_tokens = SIZE_MAX);
  StreamState* state() { return &state_; }
  // Model inputs for the next block of at most `block` tokens (BOS first),
  // none past the tokens that need the model.
  std::span<const int32_t> NextInputs(int block);
  // Codes the block of the last NextInputs with its frequency rows (256 each).
  void Code(uint16_t* freqs);
  // Codes the next `rows` tokens with their frequency rows, however they were
  // computed (codec.cc's segments), up to model_end(); Code() is this after
  // NextInputs().
  void CodeRows(uint16_t* freqs, size_t rows);
  std::string Finish() { return enc_.Finish(); }

 private:
  // `flat`: f is FlatRow's (a media sample).
  void CodeToken(uint16_t* f, bool flat = false);

  std::string_view chunk_;
  size_t pos_ = 0;
  size_t model_end_;  // tokens [0, model_end_) are coded with the model
  StreamState state_;
  MatchModel match_;
  ContextMixer mixer_;
  RangeEncoder enc_;
  std::optional<media::SampleContext> samples_;
  std::vector<int32_t> inputs_;
};

class ChunkDecoder {
 public:
  ChunkDecoder(const IntModel& model, std::span<const uint8_t> payload, uint32_t tokens,
               const media::TokenLayout* layout = nullptr, uint64_t first_token = 0);
  bool done() const { return out_.size() >= tokens_; }
  size_t remaining() const { return tokens_ - out_.size(); }
  bool needs_model() const { return out_.size() < model_end_; }
  // Decodes up to `max_tokens` of the remaining tokens when none needs the model.
  void CodeWithoutModel(size_t max_tokens = SIZE_MAX);
  StreamState* state() { return &state_; }
  // The model inputs for the next step: the next token's, then, when the match
  // model has a match, up to kMaxGuesses guesses of the tokens after it (one
  // for each of MatchModel::kGuessLens the match has reached)
  // (speculative decoding: one step evaluates several positions, and the rows
  // whose guesses prove right are used; the state forgets the others). The
  // bytes and the payload are the same as without guesses.
  static constexpr int kMaxGuesses = std::size(MatchModel::kGuessLens);
  std::span<const int32_t> NextInputs();
  // Decodes the tokens of the last NextInputs' rows (256 frequencies each)
  // while the guesses hold: at least one.
  void Code(uint16_t* freqs);
  // The chunk's bytes; DATA_LOSS if the payload did not end exactly at the end.
  absl::StatusOr<std::string> Finish(size_t chunk_index);

 private:
  void CodeRow(uint16_t* f, bool flat);

  uint32_t tokens_;
  size_t model_end_;  // tokens [0, model_end_) are decoded with the model
  size_t payload_size_;
  StreamState state_;
  MatchModel match_;
  ContextMixer mixer_;
  RangeDecoder dec_;
  std::optional<media::SampleContext> samples_;
  int32_t next_;
  std::vector<int32_t> inputs_;  // the last NextInputs
  std::string out_;
};

}  // namespace lmc

#endif  // LMC_ENGINE_CHUNK_CODER_H_
