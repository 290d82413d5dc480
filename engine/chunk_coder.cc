#include "engine/chunk_coder.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lmc {

static_assert(media::SampleContext::kContexts == ContextMixer::kSampleContexts);
namespace {

// A bit with probability p1 (of 4096) of being 1, as a range-coder symbol:
// 0 takes [0, 2^16 - 16 p1), 1 the rest.
inline uint32_t ZeroFreq(int p1) { return kTotal - 16 * static_cast<uint32_t>(p1); }

// How many of a chunk's `n` tokens, starting at stream token `first`, come
// before the first media sample token (all of them for bytes).
size_t ModelTokens(size_t n, const media::TokenLayout* layout, uint64_t first) {
  if (layout == nullptr) return n;
  return layout->container > first ? std::min<uint64_t>(n, layout->container - first) : 0;
}

// The frequency row of a token coded without the model: every byte 2^16/256.
void FlatRow(uint16_t* f) { std::fill(f, f + ModelConfig::kVocab, kTotal / ModelConfig::kVocab); }

// Hands the token's row and the match model's prediction to the mixer. A flat
// row is flat but for the byte the match model predicted (if it moved
// probability there).
void SetRow(ContextMixer& mixer, const MatchModel& match, const uint16_t* f, bool flat) {
  mixer.SetMatch(match.predicted(), match.length());
  if (!flat) return mixer.SetFrequencies(f);
  const int b = std::max(0, match.predicted());
  mixer.SetSpikedFrequencies(b, f[b == 0 ? 1 : 0], f[b]);
}

}  // namespace

void ChunkInputs(std::string_view chunk, size_t at, size_t n, std::vector<int32_t>* inputs) {
  inputs->resize(n);
  for (size_t t = 0; t < n; ++t) {
    const size_t i = at + t;
    (*inputs)[t] = i == 0 ? ModelConfig::kBos : static_cast<uint8_t>(chunk[i - 1]);
  }
}

uint64_t ChunkCoderMemory(uint64_t tokens, bool media) {
  return ContextMixer::MemoryFor(tokens, {}, media) +
         (uint64_t{4} << MatchModel::kHashBits) + 2 * tokens;
}

ChunkEncoder::ChunkEncoder(const IntModel& model, std::string_view chunk,
                           const media::TokenLayout* layout, uint64_t first_token)
    : chunk_(chunk),
      model_end_(ModelTokens(chunk.size(), layout, first_token)),
      state_(model),
      mixer_(chunk.size()) {
  if (layout) samples_.emplace(*layout, first_token);
}

std::span<const int32_t> ChunkEncoder::NextInputs(int block) {
  const size_t n = std::min<size_t>(std::max(1, block), model_remaining());
  ChunkInputs(chunk_, pos_, n, &inputs_);
  return inputs_;
}

void ChunkEncoder::Code(uint16_t* freqs) {
  CodeRows(freqs, inputs_.size());
  inputs_.clear();
}

void ChunkEncoder::CodeRows(uint16_t* freqs, size_t rows) {
  rows = std::min(rows, model_remaining());
  for (size_t t = 0; t < rows; ++t) CodeToken(freqs + t * ModelConfig::kVocab);
}

void ChunkEncoder::CodeWithoutModel(size_t max_tokens) {
  if (needs_model()) return;
  std::array<uint16_t, ModelConfig::kVocab> f;
  for (size_t n = 0; n < max_tokens && !done(); ++n) {
    FlatRow(f.data());
    CodeToken(f.data(), true);
  }
}

void ChunkEncoder::CodeToken(uint16_t* f, bool flat) {
  const uint8_t sym = static_cast<uint8_t>(chunk_[pos_++]);
  match_.Adjust(f, flat);
  SetRow(mixer_, match_, f, flat);
  media::SampleContext::Contexts sc;
  if (samples_ && samples_->Next(&sc)) {
    mixer_.SetSampleContexts(sc.hashes.data(), sc.activity, sc.shape);
  }
  for (int k = 7; k >= 0; --k) {
    const int bit = (sym >> k) & 1;
    const uint32_t zero = ZeroFreq(mixer_.P1());
    bit ? enc_.Encode(zero, kTotal - zero) : enc_.Encode(0, zero);
    mixer_.Update(bit);
  }
  match_.Update(sym);
  if (samples_) samples_->Push(sym);
}

ChunkDecoder::ChunkDecoder(const IntModel& model, std::span<const uint8_t> payload,
                           uint32_t tokens, const media::TokenLayout* layout,
                           uint64_t first_token)
    : tokens_(tokens),
      model_end_(ModelTokens(tokens, layout, first_token)),
      payload_size_(payload.size()),
      state_(model),
      mixer_(tokens),
      dec_(payload),
      next_(ModelConfig::kBos) {
  out_.reserve(tokens);
  if (layout) samples_.emplace(*layout, first_token);
}

std::span<const int32_t> ChunkDecoder::NextInputs() {
  inputs_.assign(1, next_);
  // Guesses only for tokens that are coded with the model.
  const size_t left = needs_model() ? model_end_ - out_.size() : 1;
  const int room = static_cast<int>(std::min<size_t>(kMaxGuesses, left - 1));
  uint8_t guess[kMaxGuesses];
  const int n = room > 0 ? match_.Guess(guess, room) : 0;
  for (int i = 0; i < n; ++i) inputs_.push_back(guess[i]);
  if (n > 0) state_.Checkpoint(static_cast<int>(inputs_.size()));
  return inputs_;
}

void ChunkDecoder::Code(uint16_t* freqs) {
  const size_t rows = inputs_.size();
  const int64_t first = state_.position() - static_cast<int64_t>(rows);
  size_t used = 0;
  while (used < rows) {
    CodeRow(freqs + used * ModelConfig::kVocab, false);
    ++used;
    // Row `used` was evaluated with the guess inputs_[used] for this token.
    if (used < rows && next_ != inputs_[used]) break;
  }
  if (used < rows) state_.Rewind(first + static_cast<int64_t>(used));
}

void ChunkDecoder::CodeRow(uint16_t* f, bool flat) {
  match_.Adjust(f, flat);
  SetRow(mixer_, match_, f, flat);
  media::SampleContext::Contexts sc;
  if (samples_ && samples_->Next(&sc)) {
    mixer_.SetSampleContexts(sc.hashes.data(), sc.activity, sc.shape);
  }
  int c = 0;
  for (int k = 0; k < 8; ++k) {
    const uint32_t zero = ZeroFreq(mixer_.P1());
    const int bit = dec_.Target() >= zero;
    bit ? dec_.Consume(zero, kTotal - zero) : dec_.Consume(0, zero);
    mixer_.Update(bit);
    c = c * 2 + bit;
  }
  match_.Update(static_cast<uint8_t>(c));
  if (samples_) samples_->Push(static_cast<uint8_t>(c));
  out_.push_back(static_cast<char>(c));
  next_ = c;
}

void ChunkDecoder::CodeWithoutModel(size_t max_tokens) {
  if (needs_model()) return;
  std::array<uint16_t, ModelConfig::kVocab> f;
  for (size_t n = 0; n < max_tokens && !done(); ++n) {
    FlatRow(f.data());
    CodeRow(f.data(), true);
  }
}

absl::StatusOr<std::string> ChunkDecoder::Finish(size_t chunk_index) {
  if (dec_.BytesRead() != payload_size_) {
    return absl::DataLossError(absl::StrCat(
        "chunk ", chunk_index, " is corrupt: its coded length does not match its content"));
  }
  return std::move(out_);
}

}  // namespace lmc
