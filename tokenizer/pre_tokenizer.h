// The pre-tokenizer of a Hugging Face tokenizer.json: splits text into the
// pieces that BPE encodes one at a time. Supported, as the byte-level BPE
// tokenizers of GPT-2, Llama 3, Qwen2 and SmolLM2 use them:
//   Split {pattern: Regex or String, behavior: Isolated, invert: false}
//   ByteLevel {use_regex: true splits with GPT-2's pattern; add_prefix_space is
//              not applied: an added space would not be lossless}
//   Digits {individual_digits}
//   Sequence of these.
// Regexes run on ICU (\p{L}, \p{N}, look-ahead, (?i:...) as the Oniguruma
// patterns of tokenizer.json expect). Text that is not valid UTF-8 is split
// first into valid runs and single invalid bytes, each invalid byte its own
// piece; so any byte string has pieces, and the pieces concatenate to it.
//
//   LMC_ASSIGN_OR_RETURN(auto pre, PreTokenizer::FromJson(json["pre_tokenizer"]));
//   std::vector<std::string_view> pieces;
//   pre->Split(text, &pieces);
#ifndef LMC_TOKENIZER_PRE_TOKENIZER_H_
#define LMC_TOKENIZER_PRE_TOKENIZER_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace lmc::tokenizer {

class PreTokenizer {
 public:
  // `config`: tokenizer.json's "pre_tokenizer" (null: no splitting but the
  // UTF-8 one). INVALID_ARGUMENT for a malformed one, UNIMPLEMENTED for a kind
  // lmc does not support.
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> FromJson(const nlohmann::json& config);
  ~PreTokenizer();

  // Appends the pieces of `text`, in order; they concatenate to `text`.
  // Thread-safe.
  void Split(std::string_view text, std::vector<std::string_view>* pieces) const;

  // The regexes applied in order, for `lmc` and tests.
  size_t steps() const { return steps_.size(); }

 private:
  struct Step;
  PreTokenizer();
  std::vector<std::unique_ptr<Step>> steps_;
};

}  // namespace lmc::tokenizer

#endif  // LMC_TOKENIZER_PRE_TOKENIZER_H_
