#include "core/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace lmc {
namespace {

FrameHeader SampleHeader() {
  FrameHeader h;
  h.model = Sha256("model");
  h.original_bytes = 2500;
  h.checksum = 0x1234567890abcdefull;
  h.chunk_tokens = 1000;
  h.chunks = {{1000, 7}, {1000, 5}, {500, 6}};
  return h;
}

std::vector<std::string> SamplePayloads() { return {"abcdefg", "hijkl", "mnopqr"}; }

TEST(FrameTest, RoundTrip) {
  std::string f = WriteFrame(SampleHeader(), SamplePayloads());
  auto p = ParseFrame(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->header.original_bytes, 2500u);
  EXPECT_EQ(p->header.checksum, 0x1234567890abcdefull);
  EXPECT_EQ(p->header.model, Sha256("model"));
  ASSERT_EQ(p->payloads.size(), 3u);
  EXPECT_EQ(std::string(p->payloads[1].begin(), p->payloads[1].end()), "hijkl");
}

TEST(FrameTest, EmptyInputHasNoChunks) {
  FrameHeader h = SampleHeader();
  h.original_bytes = 0;
  h.chunks.clear();
  auto p = ParseFrame(WriteFrame(h, {}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->payloads.empty());
}

TEST(FrameTest, EveryTruncationIsAnError) {
  std::string f = WriteFrame(SampleHeader(), SamplePayloads());
  for (size_t n = 0; n < f.size(); ++n) {
    auto p = ParseFrame(std::string_view(f).substr(0, n));
    EXPECT_FALSE(p.ok()) << "truncated at " << n;
  }
}

TEST(FrameTest, HeaderBitFlipsAreErrors) {
  std::string f = WriteFrame(SampleHeader(), SamplePayloads());
  auto clean = ParseFrame(f);
  ASSERT_TRUE(clean.ok());
  for (size_t i = 0; i < clean->header_bytes * 8; ++i) {
    std::string g = f;
    g[i / 8] ^= static_cast<char>(1 << (i % 8));
    EXPECT_FALSE(ParseFrame(g).ok()) << "bit " << i;
  }
}

TEST(FrameTest, WrongMagicAndVersion) {
  std::string f = WriteFrame(SampleHeader(), SamplePayloads());
  std::string g = f;
  g[0] = 'X';
  EXPECT_EQ(ParseFrame(g).status().code(), absl::StatusCode::kInvalidArgument);
  // v1: no mixer; v2: media with the model; v3: one sample mixer; v4: six byte
  // contexts, one byte mixer; v5: no indirect contexts; v6: 2^19 buckets at most
  for (int v : {0, 1, 2, 3, 4, 5, 6, kFrameVersion + 1, 255}) {
    g = f;
    g[4] = static_cast<char>(v);
    EXPECT_EQ(ParseFrame(g).status().code(), absl::StatusCode::kUnimplemented) << v;
  }
}

// An index that lies, with a valid header checksum (as a forger or a buggy
// writer would make it), is still rejected, and nothing is sized by the lie.
TEST(FrameTest, LyingIndexIsDataLoss) {
  struct Case {
    const char* what;
    void (*edit)(FrameHeader*);
  } cases[] = {
      {"more chunks than the length needs", [](FrameHeader* h) { h->chunks.push_back({1, 5}); }},
      {"short middle chunk", [](FrameHeader* h) { h->chunks[1].tokens = 999; }},
      {"huge original length", [](FrameHeader* h) { h->original_bytes = 1ull << 60; }},
      {"coded length beyond the frame", [](FrameHeader* h) { h->chunks[2].coded_bytes = 1ull << 40; }},
      {"coded length below the minimum", [](FrameHeader* h) { h->chunks[0].coded_bytes = 1; }},
      {"zero chunk size", [](FrameHeader* h) { h->chunk_tokens = 0; }},
      {"more tokens than the payload can hold",
       [](FrameHeader* h) {
         h->original_bytes = 18 * kMaxTokensPerCodedByte + 1;  // the payloads hold 18 bytes
         h->chunk_tokens = 18 * kMaxTokensPerCodedByte + 1;
         h->chunks = {{18 * kMaxTokensPerCodedByte + 1, 18}};
       }},
  };
  for (const Case& c : cases) {
    FrameHeader h = SampleHeader();
    c.edit(&h);
    auto p = ParseFrame(WriteFrame(h, SamplePayloads()));
    EXPECT_EQ(p.status().code(), absl::StatusCode::kDataLoss) << c.what << ": " << p.status();
  }
}

TEST(FrameTest, FrameSizeFromAnyPrefix) {
  const std::string f = WriteFrame(SampleHeader(), SamplePayloads());
  const std::string two = f + f;
  bool known = false;
  for (size_t n = 0; n <= two.size(); ++n) {
    absl::StatusOr<uint64_t> size = FrameSize(std::string_view(two).substr(0, n));
    ASSERT_TRUE(size.ok()) << n << ": " << size.status();
    // Once the header is in, the size is exact; it never claims a wrong size.
    if (*size != 0) {
      EXPECT_EQ(*size, f.size()) << n;
    }
    if (known) {
      EXPECT_NE(*size, 0u) << n;
    }
    known = *size != 0;
  }
  EXPECT_TRUE(known);
  std::string bad = f;
  bad[0] = 'X';
  EXPECT_EQ(FrameSize(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = f;
  bad[12] ^= 1;  // inside the model fingerprint: the header checksum catches it
  EXPECT_EQ(FrameSize(bad).status().code(), absl::StatusCode::kDataLoss);
}

FrameHeader CompactHeader() {
  FrameHeader h;
  h.compact = true;
  std::memcpy(h.model.data(), Sha256("model").data(), kCompactModelBytes);
  h.original_bytes = 300;
  h.checksum = 0x90abcdefull;
  h.chunk_tokens = 300;
  h.chunks = {{300, 7}};
  return h;
}

TEST(CompactFrameTest, RoundTripAndSize) {
  const std::string f = WriteFrame(CompactHeader(), {"abcdefg"});
  EXPECT_EQ(f.size(), 4 + 1 + 1 + 1 + 1 + 8 + 2 + 4 + 1 + 2 + 7u);
  auto p = ParseFrame(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->header.compact);
  EXPECT_EQ(p->header.original_bytes, 300u);
  EXPECT_EQ(p->header.chunk_tokens, 300u);
  EXPECT_EQ(p->header_bytes, f.size() - 7);
  ASSERT_EQ(p->payloads.size(), 1u);
  EXPECT_EQ(std::string(p->payloads[0].begin(), p->payloads[0].end()), "abcdefg");
  EXPECT_TRUE(FrameModelIs(p->header, Sha256("model")));
  EXPECT_FALSE(FrameModelIs(p->header, Sha256("other model")));
  EXPECT_TRUE(FrameChecksumIs(p->header, 0x1234567890abcdefull));  // low 32 bits
  EXPECT_FALSE(FrameChecksumIs(p->header, 0x1234567890abcdeeull));
}

TEST(CompactFrameTest, EmptyInput) {
  FrameHeader h = CompactHeader();
  h.original_bytes = 0;
  h.chunks.clear();
  const std::string f = WriteFrame(h, {});
  auto p = ParseFrame(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->payloads.empty());
  EXPECT_EQ(ParseFrame(f + "x").status().code(), absl::StatusCode::kDataLoss);
}

TEST(CompactFrameTest, TruncationsAndHeaderBitFlipsAreErrors) {
  const std::string f = WriteFrame(CompactHeader(), {"abcdefg"});
  for (size_t n = 0; n < f.size(); ++n) {
    EXPECT_FALSE(ParseFrame(std::string_view(f).substr(0, n)).ok()) << "truncated at " << n;
  }
  const size_t header = ParseFrame(f)->header_bytes;
  for (size_t i = 0; i < header * 8; ++i) {
    std::string g = f;
    g[i / 8] ^= static_cast<char>(1 << (i % 8));
    EXPECT_FALSE(ParseFrame(g).ok()) << "bit " << i;
  }
}

TEST(CompactFrameTest, LiesAreDataLoss) {
  struct Case {
    const char* what;
    void (*edit)(FrameHeader*);
  } cases[] = {
      {"coded length beyond the frame", [](FrameHeader* h) { h->chunks[0].coded_bytes = 8; }},
      {"coded length below the minimum", [](FrameHeader* h) { h->chunks[0].coded_bytes = 4; }},
      {"more tokens than a chunk holds",
       [](FrameHeader* h) { h->original_bytes = kMaxChunkTokens + 1ull; }},
      {"more tokens than the payload can hold",
       [](FrameHeader* h) { h->original_bytes = 7 * kMaxTokensPerCodedByte + 1; }},
  };
  for (const Case& c : cases) {
    FrameHeader h = CompactHeader();
    c.edit(&h);
    auto p = ParseFrame(WriteFrame(h, {"abcdefg"}));
    EXPECT_EQ(p.status().code(), absl::StatusCode::kDataLoss) << c.what << ": " << p.status();
  }
}

TEST(CompactFrameTest, FrameSizeFromAnyPrefix) {
  const std::string f = WriteFrame(CompactHeader(), {"abcdefg"});
  const std::string full = WriteFrame(SampleHeader(), SamplePayloads());
  const std::string mixed = f + full + f;
  size_t at = 0;
  for (const size_t want : {f.size(), full.size(), f.size()}) {
    bool known = false;
    for (size_t n = 0; n <= mixed.size() - at; ++n) {
      absl::StatusOr<uint64_t> size = FrameSize(std::string_view(mixed).substr(at, n));
      ASSERT_TRUE(size.ok()) << at << "+" << n << ": " << size.status();
      if (*size != 0) {
        EXPECT_EQ(*size, want) << at << "+" << n;
      }
      if (known) {
        EXPECT_NE(*size, 0u) << at << "+" << n;
      }
      known = *size != 0;
    }
    EXPECT_TRUE(known);
    at += want;
  }
  std::string bad = f;
  bad[9] ^= 1;  // inside the fingerprint prefix: the header check catches it
  EXPECT_EQ(FrameSize(bad).status().code(), absl::StatusCode::kDataLoss);
}

TEST(FrameTest, RandomBytesNeverParse) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10000; ++i) {
    std::string s(rng() % 200, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng());
    if (i % 2) s.replace(0, std::min<size_t>(5, s.size()), std::string("LMCF\x01", 5).substr(0, std::min<size_t>(5, s.size())));
    if (i % 4 == 3 && s.size() >= 6) {
      s.replace(0, 6, std::string("LMCF") + char(kFrameVersion) + '\x01');  // compact
    }
    EXPECT_FALSE(ParseFrame(s).ok());
  }
}

}  // namespace
}  // namespace lmc
