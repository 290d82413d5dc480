// A byte-level BPE tokenizer read from a Hugging Face tokenizer.json (GPT-2,
// Llama 3, Qwen2, SmolLM2 and their fine-tunes), made for lossless coding:
// Decode(Encode(x)) == x for every byte string x, invalid UTF-8 included.
//
// Where a tokenizer.json asks for something that would lose bytes, lmc does
// not do it, and its token ids then differ from Hugging Face's only on such
// input: a normalizer (NFC, ...) is not applied, ByteLevel's add_prefix_space
// is not applied, added tokens ("<|endoftext|>") are never produced from text
// (their content is coded as ordinary text), and bytes that are not UTF-8 are
// pieces of their own (Hugging Face cannot take them at all). On valid UTF-8
// without those, the ids are Hugging Face's: tests/tokenizer_reference_test.sh
// compares them with transformers.js on real tokenizer.json files.
//
//   LMC_ASSIGN_OR_RETURN(Tokenizer t, Tokenizer::Load("path/to/model"));
//   std::vector<uint32_t> ids = t.Encode(bytes);
//   LMC_ASSIGN_OR_RETURN(std::string back, t.Decode(ids));  // back == bytes
#ifndef LMC_TOKENIZER_TOKENIZER_H_
#define LMC_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"

namespace lmc::tokenizer {

class Tokenizer {
 public:
  // INVALID_ARGUMENT for a malformed file, UNIMPLEMENTED for a tokenizer kind
  // lmc does not read (WordPiece, Unigram, SentencePiece-style byte fallback).
  static absl::StatusOr<Tokenizer> FromJson(std::string_view json);
  // A tokenizer.json file, or a directory holding one.
  static absl::StatusOr<Tokenizer> Load(const std::string& path);

  // Thread-safe.
  std::vector<uint32_t> Encode(std::string_view bytes) const;
  // INVALID_ARGUMENT for an id that names no token.
  absl::StatusOr<std::string> Decode(std::span<const uint32_t> ids) const;

  // One past the largest id, added tokens included: the model's output size.
  uint32_t vocab_size() const { return static_cast<uint32_t>(spelling_.size()); }
  // The bytes token `id` stands for (empty for an unused id).
  std::string_view TokenBytes(uint32_t id) const { return spelling_[id]; }
  const PreTokenizer& pre_tokenizer() const { return *pre_; }
  size_t merges() const { return bpe_.merges(); }
  // True when the file has a normalizer that lmc leaves out (see above).
  bool ignores_normalizer() const { return ignores_normalizer_; }

 private:
  Tokenizer(std::unique_ptr<PreTokenizer> pre, Bpe bpe)
      : pre_(std::move(pre)), bpe_(std::move(bpe)) {}

  std::unique_ptr<PreTokenizer> pre_;  // text -> pieces
  Bpe bpe_;                            // piece -> ids
  std::vector<std::string> spelling_;  // id -> bytes, for Decode
  std::vector<bool> used_;             // id -> names a token
  bool ignores_normalizer_ = false;
};

}  // namespace lmc::tokenizer

#endif  // LMC_TOKENIZER_TOKENIZER_H_
