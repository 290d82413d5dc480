#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "nlohmann/json.hpp"
#include "tokenizer/byte_level.h"

namespace lmc::tokenizer {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("tokenizer: ", what));
}

// Whether a decoder config is (or contains only) ByteLevel.
bool ByteLevelDecoder(const json& d) {
  if (!d.is_object() || !d.contains("type") || !d["type"].is_string()) return false;
  const std::string type = d["type"].get<std::string>();
  if (type == "ByteLevel") return true;
  if (type != "Sequence" || !d.contains("decoders") || !d["decoders"].is_array()) return false;
  bool any = false;
  for (const json& m : d["decoders"]) {
    if (!ByteLevelDecoder(m)) return false;
    any = true;
  }
  return any;
}

absl::Status CheckModelKind(const json& model) {
  const std::string type =
      model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>() : "BPE";
  if (type != "BPE") {
    return absl::UnimplementedError(absl::StrCat("tokenizer: model type \"", type,
                                                 "\" is not supported (lmc reads byte-level BPE)"));
  }
  if (model.contains("byte_fallback") && model["byte_fallback"].is_boolean() &&
      model["byte_fallback"].get<bool>()) {
    return absl::UnimplementedError(
        "tokenizer: BPE with byte_fallback (SentencePiece style) is not supported; lmc reads "
        "byte-level BPE");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty()) {
      return absl::UnimplementedError(absl::StrCat("tokenizer: BPE with a ", key,
                                                   " is not supported"));
    }
  }
  if (model.contains("dropout") && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0) {
    return Bad("BPE dropout makes tokenization random; a coder needs it off");
  }
  if (!model.contains("vocab") || !model["vocab"].is_object()) return Bad("model has no vocab");
  if (!model.contains("merges") || !model["merges"].is_array()) return Bad("model has no merges");
  return absl::OkStatus();
}

// A merge as two token strings: "a b" (older files) or ["a", "b"].
absl::StatusOr<std::pair<std::string, std::string>> ReadMerge(const json& m, size_t rank) {
  if (m.is_string()) {
    const std::string s = m.get<std::string>();
    const size_t space = s.find(' ');
    if (space != std::string::npos && s.find(' ', space + 1) == std::string::npos) {
      return std::make_pair(s.substr(0, space), s.substr(space + 1));
    }
  } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    return std::make_pair(m[0].get<std::string>(), m[1].get<std::string>());
  }
  return Bad(absl::StrCat("merge ", rank, " is malformed"));
}

}  // namespace

absl::StatusOr<Tokenizer> Tokenizer::FromJson(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad("tokenizer.json is not a JSON object");
  if (!j.contains("model") || !j["model"].is_object()) return Bad("tokenizer.json has no model");
  const json& model = j["model"];
  if (absl::Status s = CheckModelKind(model); !s.ok()) return s;
  if (!j.contains("decoder") || !ByteLevelDecoder(j["decoder"])) {
    return absl::UnimplementedError(
        "tokenizer: the decoder is not ByteLevel; lmc reads byte-level BPE tokenizers only");
  }
  absl::StatusOr<std::unique_ptr<PreTokenizer>> pre =
      PreTokenizer::FromJson(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json());
  if (!pre.ok()) return pre.status();

  // Ids: the vocabulary's, then the added tokens' (which may reuse them).
  std::vector<std::string> spelling;
  std::vector<bool> used;
  std::vector<std::string> bpe_vocab;  // byte-level tokens only; the rest empty
  const auto slot = [&](int64_t id) -> absl::Status {
    if (id < 0 || id >= (int64_t{1} << 24)) return Bad(absl::StrCat("token id ", id, " out of range"));
    if (static_cast<size_t>(id) >= spelling.size()) {
      spelling.resize(id + 1);
      used.resize(id + 1);
      bpe_vocab.resize(id + 1);
    }
    return absl::OkStatus();
  };
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) return Bad(absl::StrCat("vocab entry has no integer id"));
    const int64_t i = id.get<int64_t>();
    if (absl::Status s = slot(i); !s.ok()) return s;
    if (used[i]) return Bad(absl::StrCat("token id ", i, " appears twice in the vocab"));
    used[i] = true;
    std::string bytes;
    if (ByteLevelToBytes(token, &bytes)) {
      bpe_vocab[i] = bytes;
      spelling[i] = std::move(bytes);
    } else {
      spelling[i] = token;  // not in the byte-level alphabet: its text, literally
    }
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string()) {
        return Bad("an added token lacks its id or content");
      }
      const int64_t i = a["id"].get<int64_t>();
      if (absl::Status s = slot(i); !s.ok()) return s;
      if (!used[i]) spelling[i] = a["content"].get<std::string>();
      used[i] = true;
    }
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(model["merges"].size());
  for (size_t rank = 0; rank < model["merges"].size(); ++rank) {
    absl::StatusOr<std::pair<std::string, std::string>> m = ReadMerge(model["merges"][rank], rank);
    if (!m.ok()) return m.status();
    std::string a, b;
    if (!ByteLevelToBytes(m->first, &a) || !ByteLevelToBytes(m->second, &b)) {
      return Bad(absl::StrCat("merge ", rank, " is not in the byte-level alphabet"));
    }
    merges.emplace_back(std::move(a), std::move(b));
  }
  const bool ignore_merges = model.contains("ignore_merges") &&
                             model["ignore_merges"].is_boolean() &&
                             model["ignore_merges"].get<bool>();
  absl::StatusOr<Bpe> bpe = Bpe::Create(bpe_vocab, merges, ignore_merges);
  if (!bpe.ok()) return bpe.status();
  Tokenizer t(std::move(*pre), std::move(*bpe));
  t.spelling_ = std::move(spelling);
  t.used_ = std::move(used);
  t.ignores_normalizer_ = j.contains("normalizer") && !j["normalizer"].is_null();
  return t;
}

absl::StatusOr<Tokenizer> Tokenizer::Load(const std::string& path) {
  std::error_code ec;
  const std::string file =
      std::filesystem::is_directory(path, ec) ? path + "/tokenizer.json" : path;
  absl::StatusOr<std::string> text = ReadFile(file);
  if (!text.ok()) return absl::Status(text.status().code(), absl::StrCat("tokenizer: ", text.status().message()));
  absl::StatusOr<Tokenizer> t = FromJson(*text);
  if (!t.ok()) {
    return absl::Status(t.status().code(), absl::StrCat(file, ": ", t.status().message()));
  }
  return t;
}

std::vector<uint32_t> Tokenizer::Encode(std::string_view bytes) const {
  std::vector<std::string_view> pieces;
  pre_->Split(bytes, &pieces);
  std::vector<uint32_t> ids;
  ids.reserve(bytes.size() / 3 + 1);
  for (std::string_view p : pieces) bpe_.Encode(p, &ids);
  return ids;
}

absl::StatusOr<std::string> Tokenizer::Decode(std::span<const uint32_t> ids) const {
  std::string out;
  for (uint32_t id : ids) {
    if (id >= used_.size() || !used_[id]) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer: token id ", id, " names no token"));
    }
    out += spelling_[id];
  }
  return out;
}

}  // namespace lmc::tokenizer
