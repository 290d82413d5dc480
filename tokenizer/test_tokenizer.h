// Small byte-level BPE tokenizer.json files for tests (the tokenizer's own,
// and the converted-model tests that need a tokenizer to put in a model).
//
//   std::string json = ByteLevelTokenizerJson({{"t", "h"}, {"th", "e"}});
#ifndef LMC_TOKENIZER_TEST_TOKENIZER_H_
#define LMC_TOKENIZER_TEST_TOKENIZER_H_

#include <string>
#include <utility>
#include <vector>

namespace lmc::tokenizer::testing {

// A GPT-2 style tokenizer.json: ids 0..255 are the bytes, then `merges` in rank
// order, each adding its concatenation as the next id (once), then `extra`
// tokens. Pre-tokenizer and decoder ByteLevel, no normalizer, no added tokens.
std::string ByteLevelTokenizerJson(const std::vector<std::pair<std::string, std::string>>& merges,
                                   const std::vector<std::string>& extra = {});

}  // namespace lmc::tokenizer::testing

#endif  // LMC_TOKENIZER_TEST_TOKENIZER_H_
