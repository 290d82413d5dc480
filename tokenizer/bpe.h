// Byte-pair encoding over raw bytes: a vocabulary of byte strings and a ranked
// list of merges, applied as Hugging Face's `tokenizers` applies them (always the
// lowest-ranked adjacent pair, the leftmost among equals), in O(n log n) so that
// a long piece (a megabyte of '=') cannot stall the coder.
//
//   LMC_ASSIGN_OR_RETURN(Bpe bpe, Bpe::Create(std::move(vocab), merges, false));
//   std::vector<uint32_t> ids;
//   bpe.Encode(" hello", &ids);
#ifndef LMC_TOKENIZER_BPE_H_
#define LMC_TOKENIZER_BPE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace lmc::tokenizer {

class Bpe {
 public:
  // `vocab`: the raw bytes of each token, by id (empty: not a BPE token; the
  // caller keeps the spellings); every single byte must be one of them. `merges`: pairs of token byte strings, lowest rank first; each
  // pair's concatenation must be a token. `ignore_merges`: a piece that is a
  // whole token is that token (Llama 3).
  static absl::StatusOr<Bpe> Create(const std::vector<std::string>& vocab,
                                    const std::vector<std::pair<std::string, std::string>>& merges,
                                    bool ignore_merges);

  // Appends the tokens of one pre-tokenized piece; they spell exactly `piece`.
  void Encode(std::string_view piece, std::vector<uint32_t>* out) const;

  size_t merges() const { return merge_.size(); }

 private:
  struct Merge {
    uint32_t rank;
    uint32_t id;  // the merged token
  };
  static uint64_t Key(uint32_t a, uint32_t b) { return uint64_t{a} << 32 | b; }

  std::unordered_map<std::string, uint32_t> ids_;  // bytes -> id (first id wins)
  std::array<uint32_t, 256> byte_id_{};            // single-byte tokens
  std::unordered_map<uint64_t, Merge> merge_;      // (left, right) -> merge
  bool ignore_merges_ = false;
};

}  // namespace lmc::tokenizer

#endif  // LMC_TOKENIZER_BPE_H_
