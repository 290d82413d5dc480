// Per-client bearer tokens for lmc-server. The tokens file has one client per
// line, `NAME TOKEN` (# comments, blank lines ignored); a call must carry the
// metadata `authorization: Bearer TOKEN` of one of them, or it gets
// UNAUTHENTICATED. The health and reflection services are not checked, so
// probes need no token. Tokens are compared in constant time and never logged.
//
//   absl::StatusOr<TokenAuth> auth = TokenAuth::FromFile("/etc/lmc/tokens");
//   absl::StatusOr<std::string> client = auth->Check(ctx->client_metadata());
#ifndef LMC_SERVER_TOKEN_AUTH_H_
#define LMC_SERVER_TOKEN_AUTH_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/support/string_ref.h"

namespace lmc {

class TokenAuth {
 public:
  static absl::StatusOr<TokenAuth> FromFile(const std::string& path);
  // `text` in the file's format; `origin` names it in errors.
  static absl::StatusOr<TokenAuth> Parse(std::string_view text, std::string_view origin);

  // The client's name, or UNAUTHENTICATED (no token, malformed, unknown).
  absl::StatusOr<std::string> Check(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;
  absl::StatusOr<std::string> CheckToken(std::string_view token) const;
  size_t size() const { return clients_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> clients_;  // name, token
};

}  // namespace lmc

#endif  // LMC_SERVER_TOKEN_AUTH_H_
