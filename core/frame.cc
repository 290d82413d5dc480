#include "core/frame.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lmc {
namespace {

void PutVarint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}

void PutFixed64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}

// A bounds-checked reader over the frame bytes.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Byte(uint8_t* v) {
    if (pos_ >= s_.size()) return false;
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) {
    if (s_.size() - pos_ < n) return false;
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Fixed64(uint64_t* v) {
    std::string_view b;
    if (!Bytes(8, &b)) return false;
    *v = 0;
    for (int i = 7; i >= 0; --i) *v = (*v << 8) | static_cast<uint8_t>(b[i]);
    return true;
  }
  // Canonical LEB128 of at most 10 bytes; rejects overlong encodings.
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      if (shift == 63 && b > 1) return false;
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return b != 0 || shift == 0;
    }
    return false;
  }
  size_t pos() const { return pos_; }
  size_t left() const { return s_.size() - pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

absl::Status Truncated(const char* what) {
  return absl::DataLossError(absl::StrCat("frame truncated or corrupt: ", what));
}

}  // namespace

uint64_t FrameTokens(const FrameHeader& h) { return h.original_bytes; }

bool FrameModelIs(const FrameHeader& h, const Sha256Digest& fingerprint) {
  const size_t n = h.compact ? kCompactModelBytes : fingerprint.size();
  return std::memcmp(h.model.data(), fingerprint.data(), n) == 0;
}

bool FrameChecksumIs(const FrameHeader& h, uint64_t xxh64) {
  return h.compact ? (xxh64 & 0xFFFFFFFFu) == h.checksum : xxh64 == h.checksum;
}

namespace {

constexpr uint8_t kFlagCompact = 1;

std::string WriteCompactFrame(const FrameHeader& h, const std::vector<std::string>& payloads) {
  std::string s(kFrameMagic, 4);
  s.push_back(static_cast<char>(kFrameVersion));
  s.push_back(static_cast<char>(kFlagCompact));
  s.push_back(static_cast<char>(h.front_end));
  s.push_back(static_cast<char>(h.front_end_params.size()));
  s += h.front_end_params;
  s.append(reinterpret_cast<const char*>(h.model.data()), kCompactModelBytes);
  PutVarint(&s, h.original_bytes);
  const uint32_t sum32 = static_cast<uint32_t>(h.checksum);
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(sum32 >> (8 * i)));
  if (!h.chunks.empty()) PutVarint(&s, h.chunks[0].coded_bytes);
  const uint64_t check = Xxh64(s);
  s.push_back(static_cast<char>(check));
  s.push_back(static_cast<char>(check >> 8));
  for (const std::string& p : payloads) s += p;
  return s;
}

// The compact header after its flags byte; `r` stands after the flags.
absl::StatusOr<ParsedFrame> ParseCompact(std::string_view frame, Reader& r) {
  ParsedFrame p;
  FrameHeader& h = p.header;
  h.compact = true;
  uint8_t front_end, params_len;
  std::string_view params, model, sum, check;
  uint64_t coded = 0;
  if (!r.Byte(&front_end) || !r.Byte(&params_len) || !r.Bytes(params_len, &params) ||
      !r.Bytes(kCompactModelBytes, &model) || !r.Varint(&h.original_bytes) ||
      !r.Bytes(4, &sum) || (h.original_bytes > 0 && !r.Varint(&coded))) {
    return Truncated("header");
  }
  const size_t header_end = r.pos();
  if (!r.Bytes(2, &check)) return Truncated("header check");
  const uint64_t want = Xxh64(frame.substr(0, header_end));
  if (static_cast<uint8_t>(check[0]) != (want & 0xFF) ||
      static_cast<uint8_t>(check[1]) != ((want >> 8) & 0xFF)) {
    return absl::DataLossError("frame header is corrupt (header check mismatch)");
  }
  if (front_end != static_cast<uint8_t>(FrontEnd::kBytes)) {
    return absl::UnimplementedError(absl::StrCat("unknown front-end ", front_end));
  }
  h.front_end_params = std::string(params);
  std::memcpy(h.model.data(), model.data(), kCompactModelBytes);
  for (int i = 0; i < 4; ++i) h.checksum |= uint64_t{static_cast<uint8_t>(sum[i])} << (8 * i);
  const uint64_t tokens = FrameTokens(h);
  h.chunk_tokens = static_cast<uint32_t>(std::clamp<uint64_t>(tokens, 1, kMaxChunkTokens));
  if (tokens > kMaxChunkTokens) return absl::DataLossError("compact frame declares too many tokens");
  if (tokens > 0) {
    if (coded < kMinChunkPayload || coded != r.left() || tokens > kMaxTokensPerCodedByte * coded) {
      return absl::DataLossError("frame chunk 0 entry is inconsistent");
    }
    h.chunks.push_back({static_cast<uint32_t>(tokens), coded});
  } else if (r.left() != 0) {
    return absl::DataLossError("empty frame followed by payload bytes");
  }
  p.header_bytes = r.pos();
  if (tokens > 0) {
    p.payloads.emplace_back(reinterpret_cast<const uint8_t*>(frame.data()) + r.pos(), coded);
  }
  return p;
}

// FrameSize of a compact header: 0 while it is incomplete.
absl::StatusOr<uint64_t> CompactFrameSize(std::string_view prefix, Reader& r) {
  uint8_t front_end, params_len;
  std::string_view skip;
  uint64_t original, coded = 0;
  if (!r.Byte(&front_end) || !r.Byte(&params_len) ||
      !r.Bytes(params_len + kCompactModelBytes, &skip) || !r.Varint(&original) ||
      !r.Bytes(4, &skip) || (original > 0 && !r.Varint(&coded))) {
    // The compact header is at most 4+1+3+255+8+10+4+10 bytes before its check.
    if (prefix.size() < 295) return 0;
    return Truncated("header");
  }
  const size_t header_end = r.pos();
  std::string_view check;
  if (!r.Bytes(2, &check)) return 0;
  const uint64_t want = Xxh64(prefix.substr(0, header_end));
  if (static_cast<uint8_t>(check[0]) != (want & 0xFF) ||
      static_cast<uint8_t>(check[1]) != ((want >> 8) & 0xFF)) {
    return absl::DataLossError("frame header is corrupt (header check mismatch)");
  }
  if (coded > (uint64_t{1} << 40)) return absl::DataLossError("frame chunk index is corrupt");
  return r.pos() + coded;
}

}  // namespace

std::string WriteFrame(const FrameHeader& h, const std::vector<std::string>& payloads) {
  if (h.compact) return WriteCompactFrame(h, payloads);
  std::string s(kFrameMagic, 4);
  s.push_back(static_cast<char>(kFrameVersion));
  s.push_back(0);  // flags
  s.push_back(static_cast<char>(h.front_end));
  s.push_back(static_cast<char>(h.front_end_params.size()));
  s += h.front_end_params;
  s.append(reinterpret_cast<const char*>(h.model.data()), h.model.size());
  PutVarint(&s, h.original_bytes);
  PutFixed64(&s, h.checksum);
  PutVarint(&s, h.chunk_tokens);
  PutVarint(&s, h.chunks.size());
  for (const ChunkEntry& c : h.chunks) {
    PutVarint(&s, c.tokens);
    PutVarint(&s, c.coded_bytes);
  }
  PutFixed64(&s, Xxh64(s));
  for (const std::string& p : payloads) s += p;
  return s;
}

absl::StatusOr<ParsedFrame> ParseFrame(std::string_view frame) {
  Reader r(frame);
  std::string_view magic;
  if (!r.Bytes(4, &magic) || std::memcmp(magic.data(), kFrameMagic, 4) != 0) {
    return absl::InvalidArgumentError("not an lmc frame (bad magic)");
  }
  uint8_t version, flags, front_end, params_len;
  if (!r.Byte(&version)) return Truncated("no version");
  if (version != kFrameVersion) {
    return absl::UnimplementedError(absl::StrCat(
        "frame format version ", version, " is not supported (this lmc reads version ",
        kFrameVersion, ")"));
  }
  if (!r.Byte(&flags)) return Truncated("header");
  if (flags == kFlagCompact) return ParseCompact(frame, r);
  if (!r.Byte(&front_end) || !r.Byte(&params_len)) return Truncated("header");
  ParsedFrame p;
  FrameHeader& h = p.header;
  std::string_view params, model;
  if (!r.Bytes(params_len, &params) || !r.Bytes(32, &model)) return Truncated("header");
  h.front_end_params = std::string(params);
  std::memcpy(h.model.data(), model.data(), 32);
  uint64_t chunk_tokens, n_chunks;
  if (!r.Varint(&h.original_bytes) || !r.Fixed64(&h.checksum) ||
      !r.Varint(&chunk_tokens) || !r.Varint(&n_chunks)) {
    return Truncated("header");
  }
  // Each index entry takes at least two bytes: this bounds the allocation below
  // by the frame's real size, whatever n_chunks claims.
  if (n_chunks > r.left() / 2) return Truncated("chunk index longer than the frame");
  h.chunks.resize(n_chunks);
  for (ChunkEntry& c : h.chunks) {
    uint64_t tokens, coded;
    if (!r.Varint(&tokens) || !r.Varint(&coded)) return Truncated("chunk index");
    if (tokens > kMaxChunkTokens) return Truncated("chunk index (token count)");
    c.tokens = static_cast<uint32_t>(tokens);
    c.coded_bytes = coded;
  }
  const size_t header_end = r.pos();
  uint64_t header_sum;
  if (!r.Fixed64(&header_sum)) return Truncated("header checksum");
  if (header_sum != Xxh64(frame.substr(0, header_end))) {
    return absl::DataLossError("frame header is corrupt (header checksum mismatch)");
  }
  // The header is intact; what follows are semantic checks of what it says.
  if (flags != 0) return absl::UnimplementedError("frame uses unknown flags");
  if (front_end != static_cast<uint8_t>(FrontEnd::kBytes)) {
    return absl::UnimplementedError(absl::StrCat("unknown front-end ", front_end));
  }
  h.front_end = static_cast<FrontEnd>(front_end);
  if (chunk_tokens < 1 || chunk_tokens > kMaxChunkTokens) {
    return absl::DataLossError("frame declares an invalid chunk size");
  }
  h.chunk_tokens = static_cast<uint32_t>(chunk_tokens);
  const uint64_t tokens = FrameTokens(h);
  const uint64_t expect_chunks = tokens / chunk_tokens + (tokens % chunk_tokens != 0);
  if (n_chunks != expect_chunks) {
    return absl::DataLossError("frame chunk index does not match the original length");
  }
  uint64_t total = 0;
  for (size_t i = 0; i < n_chunks; ++i) {
    const ChunkEntry& c = h.chunks[i];
    const uint64_t want =
        i + 1 < n_chunks ? chunk_tokens : tokens - chunk_tokens * (n_chunks - 1);
    if (c.tokens != want || c.coded_bytes < kMinChunkPayload ||
        c.coded_bytes > r.left() - total ||
        c.tokens > kMaxTokensPerCodedByte * c.coded_bytes) {
      return absl::DataLossError(absl::StrCat("frame chunk ", i, " entry is inconsistent"));
    }
    total += c.coded_bytes;
  }
  if (total != r.left()) {
    return absl::DataLossError(absl::StrCat(
        "frame payload is ", r.left(), " bytes but the index says ", total));
  }
  p.header_bytes = r.pos();
  size_t pos = r.pos();
  for (const ChunkEntry& c : h.chunks) {
    p.payloads.emplace_back(reinterpret_cast<const uint8_t*>(frame.data()) + pos,
                            c.coded_bytes);
    pos += c.coded_bytes;
  }
  return p;
}

absl::StatusOr<uint64_t> FrameSize(std::string_view prefix) {
  Reader r(prefix);
  std::string_view magic;
  if (!r.Bytes(4, &magic)) return 0;
  if (std::memcmp(magic.data(), kFrameMagic, 4) != 0) {
    return absl::InvalidArgumentError("not an lmc frame (bad magic)");
  }
  uint8_t version, flags, front_end, params_len;
  if (!r.Byte(&version)) return 0;
  if (version != kFrameVersion) {
    return absl::UnimplementedError(absl::StrCat(
        "frame format version ", version, " is not supported (this lmc reads version ",
        kFrameVersion, ")"));
  }
  if (!r.Byte(&flags)) return 0;
  if (flags == kFlagCompact) return CompactFrameSize(prefix, r);
  std::string_view skip;
  uint64_t original, checksum, chunk_tokens, n_chunks;
  if (!r.Byte(&front_end) || !r.Byte(&params_len) ||
      !r.Bytes(params_len + 32, &skip) || !r.Varint(&original) || !r.Fixed64(&checksum) ||
      !r.Varint(&chunk_tokens) || !r.Varint(&n_chunks)) {
    // The fixed part of a header is at most 4+1+3+255+32+10+8+10+10 bytes.
    if (prefix.size() < 333) return 0;  // ran out: wait for more
    return Truncated("header");
  }
  if (chunk_tokens < 1 || chunk_tokens > kMaxChunkTokens ||
      n_chunks != original / chunk_tokens + (original % chunk_tokens != 0)) {
    return absl::DataLossError("frame header is corrupt (chunk count)");
  }
  uint64_t total = 0;
  for (uint64_t i = 0; i < n_chunks; ++i) {
    uint64_t tokens, coded;
    if (!r.Varint(&tokens) || !r.Varint(&coded)) {
      if (r.left() == 0) return 0;
      return Truncated("chunk index");
    }
    if (coded > (uint64_t{1} << 40)) return absl::DataLossError("frame chunk index is corrupt");
    total += coded;
  }
  const size_t header_end = r.pos();
  uint64_t header_sum;
  if (!r.Fixed64(&header_sum)) return 0;
  if (header_sum != Xxh64(prefix.substr(0, header_end))) {
    return absl::DataLossError("frame header is corrupt (header checksum mismatch)");
  }
  return r.pos() + total;
}

}  // namespace lmc
