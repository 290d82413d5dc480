#include "core/frame.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/varint.h"

namespace lmc {
namespace {

void PutFixed64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}

// A bounds-checked reader over the frame bytes. A read that fails because the
// input ended sets short(); one that fails on a malformed field does not.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Byte(uint8_t* v) {
    if (pos_ >= s_.size()) return Short();
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) {
    if (s_.size() - pos_ < n) return Short();
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Fixed(int n, uint64_t* v) {
    std::string_view b;
    if (!Bytes(n, &b)) return false;
    *v = 0;
    for (int i = n - 1; i >= 0; --i) *v = (*v << 8) | static_cast<uint8_t>(b[i]);
    return true;
  }
  bool Varint(uint64_t* v) {
    std::string_view rest = s_.substr(pos_);
    bool ended = false;
    const bool ok = GetVarint(&rest, v, &ended);
    if (ended) return Short();
    pos_ = s_.size() - rest.size();
    return ok;
  }
  size_t pos() const { return pos_; }
  size_t left() const { return s_.size() - pos_; }
  bool short_input() const { return short_; }

 private:
  bool Short() {
    short_ = true;
    return false;
  }
  std::string_view s_;
  size_t pos_ = 0;
  bool short_ = false;
};

absl::Status Truncated(const char* what) {
  return absl::DataLossError(absl::StrCat("frame truncated or corrupt: ", what));
}

}  // namespace

uint64_t FrameTokens(const FrameHeader& h) {
  if (h.front_end == FrontEnd::kBytes) return h.original_bytes;
  Reader r(h.front_end_params);
  uint64_t tokens;
  return r.Varint(&tokens) ? tokens : 0;
}

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

std::string WriteFullFrame(const FrameHeader& h, const std::vector<std::string>& payloads) {
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

// A header as stored, its own check verified, before any check of what it
// says. `chunk_tokens` and `chunks` are raw (the compact layout's one entry is
// {original_bytes, coded_bytes}).
struct StoredHeader {
  uint8_t flags = 0;
  uint8_t front_end = 0;
  uint64_t chunk_tokens = 0;
  uint64_t tokens = 0;  // FrameTokens(h), read once
  FrameHeader h;
  size_t bytes = 0;           // the header, its check included
  uint64_t payload_bytes = 0;  // what the index says follows
};

// The header fields after the flags byte, for each layout: false when a field
// is missing (r.short_input() tells whether the input ended) or malformed.
bool ReadCompactFields(Reader& r, StoredHeader* s) {
  FrameHeader& h = s->h;
  h.compact = true;
  uint8_t params_len;
  std::string_view params, model;
  uint64_t sum, coded = 0;
  if (!r.Byte(&s->front_end) || !r.Byte(&params_len) || !r.Bytes(params_len, &params) ||
      !r.Bytes(kCompactModelBytes, &model) || !r.Varint(&h.original_bytes) ||
      !r.Fixed(4, &sum) || (h.original_bytes > 0 && !r.Varint(&coded))) {
    return false;
  }
  h.front_end_params = std::string(params);
  h.front_end = static_cast<FrontEnd>(s->front_end);
  std::memcpy(h.model.data(), model.data(), kCompactModelBytes);
  h.checksum = sum;
  const uint64_t tokens = s->tokens = FrameTokens(h);
  s->chunk_tokens = tokens;
  if (h.original_bytes > 0) {
    h.chunks.push_back({static_cast<uint32_t>(std::min<uint64_t>(tokens, kMaxChunkTokens)), coded});
  }
  return true;
}

bool ReadFullFields(Reader& r, StoredHeader* s, absl::Status* error) {
  FrameHeader& h = s->h;
  uint8_t params_len;
  std::string_view params, model;
  uint64_t n_chunks;
  if (!r.Byte(&s->front_end) || !r.Byte(&params_len) || !r.Bytes(params_len, &params) ||
      !r.Bytes(32, &model) || !r.Varint(&h.original_bytes) || !r.Fixed(8, &h.checksum) ||
      !r.Varint(&s->chunk_tokens) || !r.Varint(&n_chunks)) {
    return false;
  }
  h.front_end_params = std::string(params);
  h.front_end = static_cast<FrontEnd>(s->front_end);
  std::memcpy(h.model.data(), model.data(), 32);
  const uint64_t tokens = s->tokens = FrameTokens(h);
  // Checked before the index is read, so that a corrupt count cannot make a
  // stream reader wait for an index that never ends.
  const uint64_t ct = s->chunk_tokens;
  if (ct < 1 || ct > kMaxChunkTokens || n_chunks != tokens / ct + (tokens % ct != 0)) {
    *error = absl::DataLossError("frame chunk index does not match the original length");
    return false;
  }
  // Entries are appended as they are read, two bytes at least each: what this
  // allocates is bounded by the input's real size, whatever n_chunks claims.
  for (uint64_t i = 0; i < n_chunks; ++i) {
    uint64_t tokens, coded;
    if (!r.Varint(&tokens) || !r.Varint(&coded)) return false;
    if (tokens > kMaxChunkTokens) {
      *error = Truncated("chunk index (token count)");
      return false;
    }
    h.chunks.push_back({static_cast<uint32_t>(tokens), coded});
  }
  return true;
}

// Reads and verifies the header that `prefix` starts: nullopt while the prefix
// ends inside it.
absl::StatusOr<std::optional<StoredHeader>> ReadHeader(std::string_view prefix) {
  Reader r(prefix);
  std::string_view magic;
  if (!r.Bytes(4, &magic)) return std::nullopt;
  if (std::memcmp(magic.data(), kFrameMagic, 4) != 0) {
    return absl::InvalidArgumentError("not an lmc frame (bad magic)");
  }
  uint8_t version;
  StoredHeader s;
  if (!r.Byte(&version)) return std::nullopt;
  if (version != kFrameVersion) {
    return absl::UnimplementedError(absl::StrCat(
        "frame format version ", version, " is not supported (this lmc reads version ",
        kFrameVersion, ")"));
  }
  if (!r.Byte(&s.flags)) return std::nullopt;
  const bool compact = s.flags == kFlagCompact;
  absl::Status error;
  if (!(compact ? ReadCompactFields(r, &s) : ReadFullFields(r, &s, &error))) {
    if (!error.ok()) return error;
    if (r.short_input()) return std::nullopt;
    return Truncated("header");
  }
  const size_t header_end = r.pos();
  uint64_t check;
  if (!r.Fixed(compact ? 2 : 8, &check)) return std::nullopt;
  const uint64_t want = Xxh64(prefix.substr(0, header_end));
  if (check != (compact ? want & 0xFFFF : want)) {
    return absl::DataLossError("frame header is corrupt (header check mismatch)");
  }
  // The header is intact; the caller checks what it says.
  if (s.flags != 0 && !compact) return absl::UnimplementedError("frame uses unknown flags");
  s.bytes = r.pos();
  for (const ChunkEntry& c : s.h.chunks) {
    if (c.coded_bytes > (uint64_t{1} << 40)) {
      return absl::DataLossError("frame chunk index is corrupt");
    }
    s.payload_bytes += c.coded_bytes;
  }
  return s;
}

}  // namespace

std::string WriteFrame(const FrameHeader& h, const std::vector<std::string>& payloads) {
  return h.compact ? WriteCompactFrame(h, payloads) : WriteFullFrame(h, payloads);
}

absl::StatusOr<ParsedFrame> ParseFrame(std::string_view frame) {
  absl::StatusOr<std::optional<StoredHeader>> stored = ReadHeader(frame);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return Truncated("header");
  StoredHeader& s = **stored;
  ParsedFrame p;
  p.header = std::move(s.h);
  FrameHeader& h = p.header;
  if (s.front_end > kLastFrontEnd) {
    return absl::UnimplementedError(absl::StrCat("unknown front-end ", s.front_end));
  }
  const uint64_t tokens = s.tokens;
  // A media stream holds at least its container's varints; an empty original
  // is always plain bytes.
  if (h.front_end != FrontEnd::kBytes && (tokens == 0 || h.original_bytes == 0)) {
    return absl::DataLossError("frame's front-end parameters are corrupt");
  }
  if (h.compact && tokens > kMaxChunkTokens) {
    return absl::DataLossError("compact frame declares too many tokens");
  }
  h.chunk_tokens = static_cast<uint32_t>(std::clamp<uint64_t>(s.chunk_tokens, 1, kMaxChunkTokens));
  const size_t n_chunks = h.chunks.size();
  const uint64_t left = frame.size() - s.bytes;
  for (size_t i = 0; i < n_chunks; ++i) {
    const ChunkEntry& c = h.chunks[i];
    const uint64_t want =
        i + 1 < n_chunks ? h.chunk_tokens : tokens - uint64_t{h.chunk_tokens} * (n_chunks - 1);
    if (c.tokens != want || c.coded_bytes < kMinChunkPayload || c.coded_bytes > left ||
        c.tokens > kMaxTokensPerCodedByte * c.coded_bytes) {
      return absl::DataLossError(absl::StrCat("frame chunk ", i, " entry is inconsistent"));
    }
  }
  if (s.payload_bytes != left) {
    return absl::DataLossError(absl::StrCat(
        "frame payload is ", left, " bytes but the index says ", s.payload_bytes));
  }
  p.header_bytes = s.bytes;
  size_t pos = s.bytes;
  for (const ChunkEntry& c : h.chunks) {
    p.payloads.emplace_back(reinterpret_cast<const uint8_t*>(frame.data()) + pos,
                            c.coded_bytes);
    pos += c.coded_bytes;
  }
  return p;
}

absl::StatusOr<uint64_t> FrameSize(std::string_view prefix) {
  absl::StatusOr<std::optional<StoredHeader>> stored = ReadHeader(prefix);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return 0;
  return (*stored)->bytes + (*stored)->payload_bytes;
}

}  // namespace lmc
