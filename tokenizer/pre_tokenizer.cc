#include "tokenizer/pre_tokenizer.h"

#include <unicode/regex.h>
#include <unicode/utext.h>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tokenizer/byte_level.h"

namespace lmc::tokenizer {
namespace {

// GPT-2's pattern, which ByteLevel {use_regex: true} applies.
constexpr char kGpt2Pattern[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

struct PreTokenizer::Step {
  std::unique_ptr<icu::RegexPattern> pattern;

  static absl::StatusOr<std::unique_ptr<Step>> Compile(const std::string& pattern, bool literal) {
    UErrorCode status = U_ZERO_ERROR;
    UParseError where{};
    auto step = std::make_unique<Step>();
    step->pattern.reset(icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(pattern),
                                                   literal ? UREGEX_LITERAL : 0, where, status));
    if (U_FAILURE(status) || step->pattern == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer: pre_tokenizer regex does not compile (", u_errorName(status),
                       " at offset ", where.offset, "): ", pattern));
    }
    return step;
  }

  // Splits `text` (valid UTF-8) into matches and the gaps between them.
  void Apply(std::string_view text, std::vector<std::string_view>* out) const {
    UErrorCode status = U_ZERO_ERROR;
    UText* ut = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &status);
    std::unique_ptr<icu::RegexMatcher> m;
    if (U_SUCCESS(status)) m.reset(pattern->matcher(status));
    if (U_SUCCESS(status)) m->reset(ut);
    size_t at = 0;
    while (U_SUCCESS(status) && m->find(status) && U_SUCCESS(status)) {
      const size_t begin = static_cast<size_t>(m->start64(status));
      const size_t end = static_cast<size_t>(m->end64(status));
      if (U_FAILURE(status) || end <= begin || begin < at || end > text.size()) continue;
      if (begin > at) out->push_back(text.substr(at, begin - at));
      out->push_back(text.substr(begin, end - begin));
      at = end;
    }
    // Whatever ICU did not match (or could not run on) stays one piece: the
    // pieces always concatenate to the text.
    if (at < text.size()) out->push_back(text.substr(at));
    utext_close(ut);
  }
};

PreTokenizer::PreTokenizer() = default;
PreTokenizer::~PreTokenizer() = default;


absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::FromJson(const nlohmann::json& config) {
  std::unique_ptr<PreTokenizer> p(new PreTokenizer());
  std::vector<const nlohmann::json*> todo;
  if (!config.is_null()) todo.push_back(&config);
  for (size_t i = 0; i < todo.size(); ++i) {
    const nlohmann::json& c = *todo[i];
    if (!c.is_object() || !c.contains("type") || !c["type"].is_string()) {
      return absl::InvalidArgumentError("tokenizer: a pre_tokenizer has no \"type\"");
    }
    const std::string type = c["type"].get<std::string>();
    const auto flag = [&](const char* key, bool fallback) {
      return c.contains(key) && c[key].is_boolean() ? c[key].get<bool>() : fallback;
    };
    std::string pattern;
    bool literal = false;
    if (type == "Sequence") {
      if (!c.contains("pretokenizers") || !c["pretokenizers"].is_array()) {
        return absl::InvalidArgumentError("tokenizer: Sequence pre_tokenizer without a list");
      }
      // Depth first, in order: insert the members right after this one.
      std::vector<const nlohmann::json*> members;
      for (const nlohmann::json& m : c["pretokenizers"]) members.push_back(&m);
      todo.insert(todo.begin() + static_cast<ptrdiff_t>(i) + 1, members.begin(), members.end());
      continue;
    } else if (type == "ByteLevel") {
      if (!flag("use_regex", true)) continue;
      pattern = kGpt2Pattern;
    } else if (type == "Digits") {
      pattern = flag("individual_digits", false) ? "[0-9]" : "[0-9]+";
    } else if (type == "Split") {
      const std::string behavior =
          c.contains("behavior") && c["behavior"].is_string() ? c["behavior"].get<std::string>() : "";
      if (behavior != "Isolated" || flag("invert", false)) {
        return absl::UnimplementedError(absl::StrCat(
            "tokenizer: Split pre_tokenizer with behavior \"", behavior,
            "\"", flag("invert", false) ? " inverted" : "",
            " is not supported (lmc takes Isolated, which keeps every byte)"));
      }
      const nlohmann::json* pat = c.contains("pattern") ? &c["pattern"] : nullptr;
      if (pat && pat->contains("Regex") && (*pat)["Regex"].is_string()) {
        pattern = (*pat)["Regex"].get<std::string>();
      } else if (pat && pat->contains("String") && (*pat)["String"].is_string()) {
        pattern = (*pat)["String"].get<std::string>();
        literal = true;
      } else {
        return absl::InvalidArgumentError("tokenizer: Split pre_tokenizer without a pattern");
      }
    } else {
      return absl::UnimplementedError(
          absl::StrCat("tokenizer: pre_tokenizer \"", type,
                       "\" is not supported (lmc reads byte-level BPE tokenizers: ByteLevel, "
                       "Split, Digits, Sequence)"));
    }
    if (pattern.empty()) return absl::InvalidArgumentError("tokenizer: empty Split pattern");
    absl::StatusOr<std::unique_ptr<Step>> step = Step::Compile(pattern, literal);
    if (!step.ok()) return step.status();
    p->steps_.push_back(std::move(*step));
  }
  return p;
}


void PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* pieces) const {
  struct Piece {
    std::string_view text;
    bool invalid;  // one byte that is not UTF-8: never split, never matched
  };
  std::vector<Piece> cur, next;
  size_t run = 0;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    const int n = Utf8Sequence(text.substr(i), &cp);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > run) cur.push_back({text.substr(run, i - run), false});
    cur.push_back({text.substr(i, 1), true});
    run = ++i;
  }
  if (text.size() > run) cur.push_back({text.substr(run), false});
  std::vector<std::string_view> split;
  for (const auto& step : steps_) {
    next.clear();
    for (const Piece& p : cur) {
      if (p.invalid) {
        next.push_back(p);
        continue;
      }
      split.clear();
      step->Apply(p.text, &split);
      for (std::string_view s : split) next.push_back({s, false});
    }
    cur.swap(next);
  }
  for (const Piece& p : cur) pieces->push_back(p.text);
}

}  // namespace lmc::tokenizer
