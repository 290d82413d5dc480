#include "hf/token_codec.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/frame.h"
#include "core/parallel.h"
#include "core/range_coder.h"
#include "core/status_macros.h"
#include "core/varint.h"
#include "hf/hf_session.h"
#include "hf/token_coder.h"

namespace lmc::hf {
namespace {

int Threads(const TokenCodecOptions& opt, size_t work) {
  const int t = opt.threads > 0 ? opt.threads
                                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(t, work)));
}

// The distribution of a chunk's first token: after the BOS when the model has
// one, otherwise flat (all logits equal).
void FirstLogits(const HfIntModel& m, HfSession* s, std::vector<int32_t>* logits) {
  if (m.config().bos >= 0) {
    s->Feed(static_cast<uint32_t>(m.config().bos), logits);
  } else {
    logits->assign(m.config().vocab_size, 0);
  }
}

std::string EncodeChunk(const HfIntModel& m, std::span<const uint32_t> ids) {
  HfSession session(m);
  TokenCoder coder(m.exp_table);
  RangeEncoder enc;
  std::vector<int32_t> logits;
  FirstLogits(m, &session, &logits);
  for (size_t i = 0; i < ids.size(); ++i) {
    coder.SetLogits(logits);
    coder.Encode(ids[i], &enc);
    if (i + 1 < ids.size()) session.Feed(ids[i], &logits);
  }
  return enc.Finish();
}

absl::StatusOr<std::vector<uint32_t>> DecodeChunk(const HfIntModel& m,
                                                  std::span<const uint8_t> payload,
                                                  uint32_t tokens, size_t index) {
  HfSession session(m);
  TokenCoder coder(m.exp_table);
  RangeDecoder dec(payload);
  std::vector<int32_t> logits;
  std::vector<uint32_t> ids(tokens);
  FirstLogits(m, &session, &logits);
  for (uint32_t i = 0; i < tokens; ++i) {
    coder.SetLogits(logits);
    ids[i] = coder.Decode(&dec);
    if (i + 1 < tokens) session.Feed(ids[i], &logits);
  }
  if (dec.BytesRead() != payload.size()) {
    return absl::DataLossError(absl::StrCat(
        "chunk ", index, " is corrupt: its coded length does not match its content"));
  }
  return ids;
}

}  // namespace

absl::StatusOr<std::string> CompressTokens(const HfIntModel& model, std::string_view data,
                                           const TokenCodecOptions& opt) {
  const int max_chunk = model.config().chunk_tokens();
  int chunk = opt.chunk_tokens > 0 ? opt.chunk_tokens : max_chunk;
  if (chunk > max_chunk) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk of ", chunk, " tokens exceeds the model's context (", max_chunk, " tokens)"));
  }
  FrameHeader h;
  h.model = model.fingerprint();
  h.original_bytes = data.size();
  h.checksum = Xxh64(data);
  h.chunk_tokens = static_cast<uint32_t>(chunk);
  const std::vector<uint32_t> ids = model.tokenizer().Encode(data);
  {
    absl::StatusOr<std::string> back = model.tokenizer().Decode(ids);
    if (!back.ok() || *back != data) {
      return absl::InternalError("the tokenizer does not give this input back; not compressed");
    }
  }
  std::vector<std::string> payloads;
  if (!ids.empty()) {  // an empty input is an empty frame of front-end bytes
    h.front_end = FrontEnd::kTokens;
    PutVarint(&h.front_end_params, ids.size());
    const size_t n = (ids.size() + chunk - 1) / chunk;
    h.chunk_tokens = static_cast<uint32_t>((ids.size() + n - 1) / n);  // even chunks
    payloads.resize(n);
    ParallelGroups(n, 1, Threads(opt, n), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const size_t begin = i * h.chunk_tokens;
        const size_t len = std::min<size_t>(h.chunk_tokens, ids.size() - begin);
        payloads[i] = EncodeChunk(model, std::span(ids).subspan(begin, len));
      }
    });
    for (size_t i = 0; i < n; ++i) {
      const uint32_t len =
          static_cast<uint32_t>(std::min<size_t>(h.chunk_tokens, ids.size() - i * h.chunk_tokens));
      h.chunks.push_back({len, payloads[i].size()});
    }
  }
  h.compact = payloads.size() <= 1 && data.size() <= kCompactMaxBytes;
  return WriteFrame(h, payloads);
}

absl::StatusOr<std::string> DecompressTokens(const HfIntModel& model, std::string_view frame,
                                             const TokenCodecOptions& opt) {
  LMC_ASSIGN_OR_RETURN(ParsedFrame p, ParseFrame(frame));
  const FrameHeader& h = p.header;
  if (!FrameModelIs(h, model.fingerprint())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "frame was made by model ", ToHex(h.model).substr(0, 16), "..., not by the loaded model ",
        model.fingerprint_hex().substr(0, 16), "..."));
  }
  if (h.front_end == FrontEnd::kBytes && h.original_bytes == 0) {
    if (!FrameChecksumIs(h, Xxh64(""))) return absl::DataLossError("frame is corrupt: checksum");
    return std::string();
  }
  if (h.front_end != FrontEnd::kTokens) {
    return absl::InvalidArgumentError("frame was not made with a converted model's tokenizer");
  }
  if (h.chunk_tokens > static_cast<uint32_t>(model.config().chunk_tokens())) {
    return absl::DataLossError("frame is corrupt: chunks longer than the model's context");
  }
  const size_t n = h.chunks.size();
  std::vector<absl::StatusOr<std::vector<uint32_t>>> parts(n, std::vector<uint32_t>());
  ParallelGroups(n, 1, Threads(opt, n), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) parts[i] = DecodeChunk(model, p.payloads[i], h.chunks[i].tokens, i);
  });
  std::vector<uint32_t> ids;
  for (auto& part : parts) {
    if (!part.ok()) return part.status();
    ids.insert(ids.end(), part->begin(), part->end());
  }
  absl::StatusOr<std::string> out = model.tokenizer().Decode(ids);
  if (!out.ok()) {
    return absl::DataLossError(absl::StrCat("frame is corrupt: ", out.status().message()));
  }
  if (out->size() != h.original_bytes || !FrameChecksumIs(h, Xxh64(*out))) {
    return absl::DataLossError("frame is corrupt: checksum of the decoded data does not match");
  }
  return *std::move(out);
}

}  // namespace lmc::hf
