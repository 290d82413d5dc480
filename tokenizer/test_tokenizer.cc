#include "tokenizer/test_tokenizer.h"

#include "nlohmann/json.hpp"
#include "tokenizer/byte_level.h"

namespace lmc::tokenizer::testing {

std::string ByteLevelTokenizerJson(const std::vector<std::pair<std::string, std::string>>& merges,
                                   const std::vector<std::string>& extra) {
  using nlohmann::json;
  const auto spell = [](std::string_view bytes) {
    std::string s;
    AppendByteLevel(bytes, &s);
    return s;
  };
  json vocab = json::object(), m = json::array();
  uint32_t id = 0;
  for (int b = 0; b < 256; ++b) vocab[spell(std::string(1, static_cast<char>(b)))] = id++;
  for (const auto& [l, r] : merges) {
    m.push_back(spell(l) + " " + spell(r));
    if (!vocab.contains(spell(l + r))) vocab[spell(l + r)] = id++;
  }
  for (const std::string& e : extra) vocab[spell(e)] = id++;
  return json{{"version", "1.0"},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"decoder", {{"type", "ByteLevel"}}},
              {"added_tokens", json::array()},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}}}}
      .dump();
}

}  // namespace lmc::tokenizer::testing
