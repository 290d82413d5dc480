#include "server/token_auth.h"

#include "gtest/gtest.h"

namespace lmc {
namespace {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr char kTokens[] =
    "# lmc clients\n"
    "billing   0123456789abcdef0123\n"
    "\n"
    "search\tfedcba9876543210fedc  # rotated 2026-11\n";

TEST(TokenAuthTest, KnownTokensNameTheirClient) {
  absl::StatusOr<TokenAuth> auth = TokenAuth::Parse(kTokens, "tokens");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->size(), 2u);
  EXPECT_EQ(*auth->CheckToken("0123456789abcdef0123"), "billing");
  EXPECT_EQ(*auth->CheckToken("fedcba9876543210fedc"), "search");
  Metadata md;
  const std::string key = "authorization", value = "Bearer fedcba9876543210fedc";
  md.emplace(key, value);
  EXPECT_EQ(*auth->Check(md), "search");
}

TEST(TokenAuthTest, AnythingElseIsUnauthenticated) {
  absl::StatusOr<TokenAuth> auth = TokenAuth::Parse(kTokens, "tokens");
  ASSERT_TRUE(auth.ok());
  const std::string key = "authorization";
  struct Case {
    const char* what;
    const char* value;  // null: no authorization metadata
  };
  for (const Case& c : {Case{"none", nullptr}, Case{"empty", ""},
                        Case{"no scheme", "0123456789abcdef0123"},
                        Case{"other scheme", "Basic 0123456789abcdef0123"},
                        Case{"prefix", "Bearer 0123456789abcdef012"},
                        Case{"longer", "Bearer 0123456789abcdef01234"},
                        Case{"the name", "Bearer billing"}}) {
    Metadata md;
    const std::string value = c.value ? c.value : "";
    if (c.value) md.emplace(key, value);
    EXPECT_EQ(auth->Check(md).status().code(), absl::StatusCode::kUnauthenticated) << c.what;
  }
}

TEST(TokenAuthTest, MalformedFilesAreRefused) {
  for (const char* text : {"", "# only a comment\n", "billing\n",
                           "billing 0123456789abcdef0123 extra\n", "billing short\n"}) {
    EXPECT_EQ(TokenAuth::Parse(text, "tokens").status().code(),
              absl::StatusCode::kInvalidArgument)
        << text;
  }
  EXPECT_EQ(TokenAuth::FromFile("/nonexistent/tokens").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lmc
