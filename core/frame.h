// The lmc frame format (docs/format.md): the self-describing container of a compressed
// payload. docs/format.md is the normative description; this is its code.
//
//   FrameHeader h = ...; std::string f = WriteFrame(h, payloads);
//   LMC_ASSIGN_OR_RETURN(ParsedFrame p, ParseFrame(f));
//
// ParseFrame checks everything it can without the model: magic, version, the
// header's own checksum, that the chunk index agrees with the original length and
// with the bytes that follow. Nothing it allocates is sized by an unchecked field.
#ifndef LMC_CORE_FRAME_H_
#define LMC_CORE_FRAME_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hashing.h"

namespace lmc {

inline constexpr char kFrameMagic[4] = {'L', 'M', 'C', 'F'};
inline constexpr uint8_t kFrameVersion = 8;
inline constexpr uint32_t kMaxChunkTokens = 1u << 24;
inline constexpr uint32_t kMinChunkPayload = 5;  // the range coder's flush
// A byte is coded as 8 bits, none of probability above 4095/4096, so it costs at
// least 8 * -log2(4095/4096) = 0.002818 bits: a chunk of n tokens needs at least
// n / 2839 coded bytes. Frames claiming more tokens per byte are lies, rejected
// before any decoding work is spent on them.
inline constexpr uint64_t kMaxTokensPerCodedByte = 2839;

// What the coded tokens are (docs/format.md, "Front-ends"): the original bytes,
// a media file's container and sample residuals (media/media_codec.h), or the
// BPE tokens of a converted model's tokenizer (hf/token_codec.h). For every
// front-end but bytes the parameters start with varint(token count).
enum class FrontEnd : uint8_t { kBytes = 0, kImage = 1, kAudio = 2, kVideo = 3, kTokens = 4 };
inline constexpr uint8_t kLastFrontEnd = 4;

struct ChunkEntry {
  uint32_t tokens = 0;       // tokens coded in this chunk
  uint64_t coded_bytes = 0;  // length of its range-coded payload
};

// Inputs of at most this many bytes get the compact header (docs/format.md,
// flags bit 0): one chunk, an 8-byte model fingerprint prefix and a 32-bit
// checksum, about 25 bytes instead of about 66. For JSON messages of a few
// hundred bytes the full header would cost more than the payload.
inline constexpr uint64_t kCompactMaxBytes = 65535;
inline constexpr size_t kCompactModelBytes = 8;

struct FrameHeader {
  bool compact = false;          // the compact header: at most one chunk
  FrontEnd front_end = FrontEnd::kBytes;
  std::string front_end_params;  // front-end specific, at most 255 bytes
  Sha256Digest model{};          // SHA-256 of the model's weights file (compact:
                                 // its first 8 bytes, the rest zero)
  uint64_t original_bytes = 0;
  uint64_t checksum = 0;         // XXH64 (seed 0) of the original bytes (compact:
                                 // its low 32 bits)
  uint32_t chunk_tokens = 0;     // every chunk but the last holds exactly this many
  std::vector<ChunkEntry> chunks;
};

struct ParsedFrame {
  FrameHeader header;
  size_t header_bytes = 0;
  std::vector<std::span<const uint8_t>> payloads;  // views into the frame
};

// The length of the frame that `prefix` starts, from its header alone: 0 while
// the prefix is too short to tell. For reading concatenated frames from a stream;
// ParseFrame still validates the whole frame. Errors as ParseFrame's.
absl::StatusOr<uint64_t> FrameSize(std::string_view prefix);

// Whether the frame names the model of this fingerprint (compact frames carry
// a prefix of it), and whether the decoded bytes' XXH64 is the frame's checksum.
bool FrameModelIs(const FrameHeader& h, const Sha256Digest& fingerprint);
bool FrameChecksumIs(const FrameHeader& h, uint64_t xxh64);

// Number of tokens the front-end produces for the original: for kBytes its
// length, otherwise the count at the start of the parameters (0 if they do not
// start with a varint; ParseFrame refuses such frames).
uint64_t FrameTokens(const FrameHeader& h);

std::string WriteFrame(const FrameHeader& header,
                       const std::vector<std::string>& payloads);
absl::StatusOr<ParsedFrame> ParseFrame(std::string_view frame);

}  // namespace lmc

#endif  // LMC_CORE_FRAME_H_
