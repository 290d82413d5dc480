#include "server/token_auth.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace lmc {
namespace {

// Equal contents in time that depends only on the lengths, so that a caller
// cannot find a token byte by byte from response times.
bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool Space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

absl::StatusOr<TokenAuth> TokenAuth::Parse(std::string_view text, std::string_view origin) {
  TokenAuth auth;
  int n = 0;
  while (!text.empty()) {
    ++n;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> fields;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && Space(line[i])) ++i;
      size_t j = i;
      while (j < line.size() && !Space(line[j])) ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty()) continue;
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(origin), ":", n, ": expected NAME TOKEN"));
    }
    if (fields[1].size() < 16) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(origin), ":", n, ": the token of '", std::string(fields[0]),
          "' is shorter than 16 characters"));
    }
    auth.clients_.emplace_back(std::string(fields[0]), std::string(fields[1]));
  }
  if (auth.clients_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(origin), ": no tokens"));
  }
  return auth;
}

absl::StatusOr<TokenAuth> TokenAuth::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

absl::StatusOr<std::string> TokenAuth::CheckToken(std::string_view token) const {
  const std::string* found = nullptr;
  for (const auto& [name, t] : clients_) {  // no early exit: same time for every token
    if (ConstantTimeEqual(token, t)) found = &name;
  }
  if (found == nullptr) return absl::UnauthenticatedError("invalid token");
  return *found;
}

absl::StatusOr<std::string> TokenAuth::Check(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("this server needs a token (authorization: Bearer TOKEN)");
  }
  std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (!value.starts_with(kBearer)) {
    return absl::UnauthenticatedError("authorization metadata must be 'Bearer TOKEN'");
  }
  return CheckToken(value.substr(kBearer.size()));
}

}  // namespace lmc
