#include "hf/token_codec.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/frame.h"
#include "core/parallel.h"
#include "core/range_coder.h"
#include "core/status_macros.h"
#include "core/varint.h"
#include "hf/hf_backend.h"
#include "hf/token_coder.h"

namespace lmc::hf {
namespace {

int Threads(const TokenCodecOptions& opt, size_t work) {
  const int t = opt.threads > 0 ? opt.threads
                                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(t, work)));
}

// A group for chunks [begin, end), each with room for the BOS and the tokens
// it is fed (a chunk's last token is coded, not fed). With a BOS, it is fed to
// every chunk and first[i] gets the logits of chunk i's first token;
// otherwise first[i] is left as it is (flat: all 0).
absl::StatusOr<std::unique_ptr<ChunkGroup>> StartChunks(const HfIntModel& m,
                                                        const HfBackend& backend,
                                                        std::span<const uint32_t> lengths,
                                                        size_t begin, size_t end,
                                                        std::span<int32_t* const> first) {
  const HfIntConfig& c = m.config();
  std::vector<int> rooms;
  for (size_t i = begin; i < end; ++i) {
    rooms.push_back(std::max(1, static_cast<int>(lengths[i]) + (c.bos >= 0 ? 1 : 0)));
  }
  LMC_ASSIGN_OR_RETURN(std::unique_ptr<ChunkGroup> group, backend.Start(rooms));
  if (c.bos >= 0) {
    std::vector<uint32_t> all(rooms.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint32_t>(i);
    const std::vector<uint32_t> bos(all.size(), static_cast<uint32_t>(c.bos));
    LMC_RETURN_IF_ERROR(group->Feed(all, bos, first));
  }
  return group;
}

// Decodes chunks [begin, end) in lockstep, one position per step (a token must
// be read before it can be fed). code(i, t, coder) reads token t of chunk i
// with the coder set to its logits and returns it. A chunk's first token comes
// after the BOS when the model has one, otherwise it is coded with all logits 0
// (flat).
template <typename Code>
absl::Status RunChunks(const HfIntModel& m, const HfBackend& backend,
                       std::span<const uint32_t> lengths, size_t begin, size_t end,
                       const TokenCodecOptions& opt, Code code) {
  const HfIntConfig& c = m.config();
  const size_t n = end - begin;
  std::vector<std::vector<int32_t>> logits(n, std::vector<int32_t>(c.vocab_size, 0));
  std::vector<int32_t*> outs;
  for (auto& l : logits) outs.push_back(l.data());
  LMC_ASSIGN_OR_RETURN(const std::unique_ptr<ChunkGroup> group,
                       StartChunks(m, backend, lengths, begin, end, outs));
  TokenCoder coder(m.exp_table);  // one for the group: its tables are per token
  std::vector<uint32_t> feed;
  std::vector<uint32_t> tokens;
  const uint32_t longest = *std::max_element(lengths.begin() + begin, lengths.begin() + end);
  for (uint32_t t = 0; t < longest; ++t) {
    if (opt.check) LMC_RETURN_IF_ERROR(opt.check());
    feed.clear();
    tokens.clear();
    outs.clear();
    for (size_t i = 0; i < n; ++i) {
      const uint32_t len = lengths[begin + i];
      if (t >= len) continue;
      coder.SetLogits(logits[i]);
      const uint32_t token = code(begin + i, t, coder);
      if (t + 1 < len) {
        feed.push_back(static_cast<uint32_t>(i));
        tokens.push_back(token);
        outs.push_back(logits[i].data());
      }
    }
    if (!feed.empty()) LMC_RETURN_IF_ERROR(group->Feed(feed, tokens, outs));
  }
  return absl::OkStatus();
}

// Runs run(begin, end) over all chunks in groups of at most opt.lockstep on
// the threads: enough chunks to turn the weights' matrix-vector products into
// matrix-matrix ones, few enough that a group's key/value caches stay small.
// Chunks are spread over every thread first, except when decoding on a
// device (HfBackend::WideGroups), whose groups are filled first: a decoding
// step feeds one row per chunk of the group, and a device pays a step's
// launches whatever its rows. Measured on an H200, 48 chunks of a
// GPT-2-small shape: 16 threads of 3 chunks decoded 336 tokens/s, one group
// of 48 1,476. Compression feeds many rows per chunk and pass anyway, and
// spreading its chunks over threads overlaps their host-side coding (6,102
// tokens/s on 16 threads of 3, 3,073 in one group of 48).
template <typename Run>
absl::Status ForGroups(const HfBackend& backend, std::span<const uint32_t> lengths,
                       const TokenCodecOptions& opt, bool decoding, Run run) {
  const size_t n = lengths.size();
  int threads = Threads(opt, n);
  const uint32_t longest = *std::max_element(lengths.begin(), lengths.end());
  const size_t per_chunk = std::max<size_t>(1, backend.CacheBytes(static_cast<int>(longest) + 1));
  const size_t lockstep = static_cast<size_t>(std::max(1, opt.lockstep));
  size_t group;
  if (decoding && backend.WideGroups()) {
    group = std::min({lockstep, n, std::max<size_t>(1, opt.cache_budget_bytes / per_chunk)});
    const size_t groups = (n + group - 1) / group;
    const size_t fit_groups = std::max<size_t>(1, opt.cache_budget_bytes / (group * per_chunk));
    threads = static_cast<int>(std::min({static_cast<size_t>(threads), groups, fit_groups}));
  } else {
    const size_t fit = std::max<size_t>(1, opt.cache_budget_bytes / threads / per_chunk);
    group = std::min({lockstep, (n + threads - 1) / threads, fit});
  }
  std::mutex mu;
  absl::Status status;
  ParallelGroups(n, group, threads, [&](size_t b, size_t e) {
    for (size_t g = b; g < e; g += group) {
      absl::Status s = run(g, std::min(e, g + group));
      std::lock_guard<std::mutex> l(mu);
      if (!s.ok() && status.ok()) status = s;
    }
  });
  return status;
}

// Compresses chunks [begin, end): every token is known, so each pass feeds
// several positions of every chunk (rows of one ChunkGroup::Feed), which gives
// the logits of stepping one position at a time with far fewer passes over
// the weights. Token j + 1 of a chunk is coded from the logits of feeding
// token j; token 0 from the BOS's, or flat.
absl::Status EncodeGroup(const HfIntModel& m, const HfBackend& backend,
                         std::span<const uint32_t> ids, uint32_t chunk_tokens,
                         std::span<const uint32_t> lengths, size_t begin, size_t end,
                         const TokenCodecOptions& opt, std::vector<RangeEncoder>* enc) {
  const HfIntConfig& c = m.config();
  const size_t n = end - begin, V = static_cast<size_t>(c.vocab_size);
  const auto token = [&](size_t i, uint32_t j) { return ids[(begin + i) * chunk_tokens + j]; };
  std::vector<int32_t> logits(n * V, 0);  // flat unless the BOS is fed
  std::vector<int32_t*> outs;
  for (size_t i = 0; i < n; ++i) outs.push_back(&logits[i * V]);
  LMC_ASSIGN_OR_RETURN(const std::unique_ptr<ChunkGroup> group,
                       StartChunks(m, backend, lengths, begin, end, outs));
  TokenCoder coder(m.exp_table);
  std::vector<uint32_t> feed;
  std::vector<uint32_t> tokens;
  std::vector<std::pair<size_t, uint32_t>> coded;  // per row: chunk, token coded
  for (size_t i = 0; i < n; ++i) {
    coder.SetLogits(std::span<const int32_t>(&logits[i * V], V));
    coder.Encode(token(i, 0), &(*enc)[begin + i]);
  }
  const uint32_t longest = *std::max_element(lengths.begin() + begin, lengths.begin() + end);
  const uint32_t step =
      static_cast<uint32_t>(std::max<size_t>(1, static_cast<size_t>(std::max(1, opt.encode_rows)) / n));
  for (uint32_t t = 0; t + 1 < longest; t += step) {  // tokens t .. t+step-1 are fed
    if (opt.check) LMC_RETURN_IF_ERROR(opt.check());
    feed.clear();
    tokens.clear();
    coded.clear();
    for (size_t i = 0; i < n; ++i) {
      const uint32_t last_fed = lengths[begin + i] - 1;  // the last token is coded, not fed
      for (uint32_t j = t; j < std::min(t + step, last_fed); ++j) {
        feed.push_back(static_cast<uint32_t>(i));
        tokens.push_back(token(i, j));
        coded.emplace_back(i, j + 1);
      }
    }
    logits.resize(feed.size() * V);
    outs.clear();
    for (size_t r = 0; r < feed.size(); ++r) outs.push_back(&logits[r * V]);
    if (!feed.empty()) LMC_RETURN_IF_ERROR(group->Feed(feed, tokens, outs));
    for (size_t r = 0; r < coded.size(); ++r) {
      coder.SetLogits(std::span<const int32_t>(&logits[r * V], V));
      coder.Encode(token(coded[r].first, coded[r].second), &(*enc)[begin + coded[r].first]);
    }
  }
  return absl::OkStatus();
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
    std::vector<uint32_t> lengths(n);
    for (size_t i = 0; i < n; ++i) {
      lengths[i] =
          static_cast<uint32_t>(std::min<size_t>(h.chunk_tokens, ids.size() - i * h.chunk_tokens));
    }
    std::vector<RangeEncoder> encoders(n);
    const std::unique_ptr<HfBackend> kernels = opt.backend ? nullptr : KernelBackend(model);
    const HfBackend& backend = opt.backend ? *opt.backend : *kernels;
    LMC_RETURN_IF_ERROR(ForGroups(backend, lengths, opt, /*decoding=*/false, [&](size_t b, size_t e) {
      return EncodeGroup(model, backend, ids, h.chunk_tokens, lengths, b, e, opt, &encoders);
    }));
    for (size_t i = 0; i < n; ++i) {
      payloads.push_back(encoders[i].Finish());
      h.chunks.push_back({lengths[i], payloads[i].size()});
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
  // Every token stands for at least one byte: this bounds the work (a model
  // pass per token) and the memory by the size the frame declares, which a
  // server checks against its limit before decoding.
  if (FrameTokens(h) > h.original_bytes) {
    return absl::DataLossError("frame is corrupt: more tokens than original bytes");
  }
  const size_t n = h.chunks.size();
  std::vector<uint32_t> lengths;
  std::vector<RangeDecoder> decoders;
  for (size_t i = 0; i < n; ++i) {
    lengths.push_back(h.chunks[i].tokens);
    decoders.emplace_back(p.payloads[i]);
  }
  std::vector<uint32_t> ids(FrameTokens(h));
  const std::unique_ptr<HfBackend> kernels = opt.backend ? nullptr : KernelBackend(model);
  const HfBackend& backend = opt.backend ? *opt.backend : *kernels;
  LMC_RETURN_IF_ERROR(ForGroups(backend, lengths, opt, /*decoding=*/true, [&](size_t b, size_t e) {
    return RunChunks(model, backend, lengths, b, e, opt, [&](size_t i, uint32_t t, TokenCoder& coder) {
      return ids[i * h.chunk_tokens + t] = coder.Decode(&decoders[i]);
    });
  }));
  for (size_t i = 0; i < n; ++i) {
    if (decoders[i].BytesRead() != p.payloads[i].size()) {
      return absl::DataLossError(absl::StrCat(
          "chunk ", i, " is corrupt: its coded length does not match its content"));
    }
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
