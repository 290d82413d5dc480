#include "engine/codec.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/frame.h"
#include "core/range_coder.h"
#include "core/status_macros.h"
#include "engine/context_mixer.h"
#include "engine/match_model.h"
#include "model/evaluator.h"

namespace lmc {
namespace {

constexpr int V = ModelConfig::kVocab;

int ThreadCount(const CodecOptions& opt, size_t work) {
  int t = opt.threads > 0 ? opt.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(t, work)));
}

// Runs fn(group_begin, group_end) over [0, n) in groups of `group`, on `threads`
// threads pulling groups from a shared counter.
template <typename Fn>
void ParallelGroups(size_t n, size_t group, int threads, Fn fn) {
  // Smaller groups when there are few chunks, so every thread gets some.
  group = std::max<size_t>(1, std::min(group, (n + threads - 1) / threads));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t b; (b = next.fetch_add(group)) < n;) fn(b, std::min(n, b + group));
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

// A bit with probability p1 (of 4096) of being 1, as a range-coder symbol:
// 0 takes [0, 2^16 - 16 p1), 1 the rest.
inline uint32_t ZeroFreq(int p1) { return kTotal - 16 * static_cast<uint32_t>(p1); }

void EncodeByte(uint8_t sym, uint16_t* f, MatchModel& match, ContextMixer& cm,
                RangeEncoder& enc) {
  match.Adjust(f);
  cm.SetFrequencies(f);
  for (int k = 7; k >= 0; --k) {
    const int bit = (sym >> k) & 1;
    const uint32_t zero = ZeroFreq(cm.P1());
    bit ? enc.Encode(zero, kTotal - zero) : enc.Encode(0, zero);
    cm.Update(bit);
  }
  match.Update(sym);
}

uint8_t DecodeByte(uint16_t* f, MatchModel& match, ContextMixer& cm, RangeDecoder& dec) {
  match.Adjust(f);
  cm.SetFrequencies(f);
  int c = 0;
  for (int k = 0; k < 8; ++k) {
    const uint32_t zero = ZeroFreq(cm.P1());
    const int bit = dec.Target() >= zero;
    bit ? dec.Consume(zero, kTotal - zero) : dec.Consume(0, zero);
    cm.Update(bit);
    c = c * 2 + bit;
  }
  match.Update(static_cast<uint8_t>(c));
  return static_cast<uint8_t>(c);
}

}  // namespace

std::vector<std::string> EncodeChunks(const IntModel& model,
                                      const std::vector<std::string_view>& chunks,
                                      const CodecOptions& opt) {
  std::vector<std::string> out(chunks.size());
  const size_t group = std::max(1, opt.batch_chunks);
  const int block = std::max(1, opt.block_tokens);
  ParallelGroups(chunks.size(), group, ThreadCount(opt, chunks.size()),
                 [&](size_t begin, size_t end) {
    BatchEvaluator ev(model);
    std::vector<StreamState> states;
    std::vector<RangeEncoder> enc(end - begin);
    std::vector<MatchModel> match(end - begin);
    std::vector<ContextMixer> mixers;
    for (size_t i = begin; i < end; ++i) {
      states.emplace_back(model);
      mixers.emplace_back(chunks[i].size());
    }
    std::vector<std::vector<int32_t>> inputs(end - begin);
    std::vector<uint16_t> freqs;
    for (size_t done = 0;; done += block) {
      std::vector<StreamInput> batch;
      std::vector<size_t> which;
      for (size_t i = begin; i < end; ++i) {
        std::string_view c = chunks[i];
        if (done >= c.size()) continue;
        const size_t n = std::min<size_t>(block, c.size() - done);
        auto& in = inputs[i - begin];
        in.resize(n);
        // Input t is the token before target t: BOS opens the chunk.
        for (size_t t = 0; t < n; ++t) {
          const size_t pos = done + t;
          in[t] = pos == 0 ? ModelConfig::kBos : static_cast<uint8_t>(c[pos - 1]);
        }
        batch.push_back({&states[i - begin], in});
        which.push_back(i);
      }
      if (batch.empty()) break;
      ev.Evaluate(batch, &freqs);
      size_t row = 0;
      uint64_t coded = 0;
      for (size_t b = 0; b < batch.size(); ++b) {
        const size_t i = which[b];
        for (size_t t = 0; t < batch[b].tokens.size(); ++t, ++row) {
          const uint8_t sym = static_cast<uint8_t>(chunks[i][done + t]);
          EncodeByte(sym, &freqs[row * V], match[i - begin], mixers[i - begin], enc[i - begin]);
        }
        coded += batch[b].tokens.size();
      }
      if (opt.progress) opt.progress->fetch_add(coded);
    }
    for (size_t i = begin; i < end; ++i) out[i] = enc[i - begin].Finish();
  });
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeChunks(
    const IntModel& model, const std::vector<std::span<const uint8_t>>& payloads,
    const std::vector<uint32_t>& tokens, const CodecOptions& opt) {
  if (payloads.size() != tokens.size()) {
    return absl::InvalidArgumentError("DecodeChunks: payloads and token counts differ");
  }
  std::vector<std::string> out(payloads.size());
  std::vector<char> bad(payloads.size(), 0);
  const size_t group = std::max(1, opt.batch_chunks);
  ParallelGroups(payloads.size(), group, ThreadCount(opt, payloads.size()),
                 [&](size_t begin, size_t end) {
    BatchEvaluator ev(model);
    std::vector<StreamState> states;
    std::vector<RangeDecoder> dec;
    std::vector<MatchModel> match(end - begin);
    std::vector<int32_t> next(end - begin, ModelConfig::kBos);
    std::vector<ContextMixer> mixers;
    for (size_t i = begin; i < end; ++i) {
      states.emplace_back(model);
      mixers.emplace_back(tokens[i]);
      dec.emplace_back(payloads[i]);
      out[i].reserve(tokens[i]);
    }
    std::vector<uint16_t> freqs;
    std::vector<StreamInput> batch;
    std::vector<size_t> which;
    while (true) {
      // Continuous batching within the group: a finished chunk leaves the batch.
      batch.clear();
      which.clear();
      for (size_t i = begin; i < end; ++i) {
        if (out[i].size() < tokens[i]) {
          batch.push_back({&states[i - begin], std::span<const int32_t>(&next[i - begin], 1)});
          which.push_back(i);
        }
      }
      if (batch.empty()) break;
      ev.Evaluate(batch, &freqs);
      for (size_t b = 0; b < batch.size(); ++b) {
        const size_t i = which[b];
        const uint8_t s = DecodeByte(&freqs[b * V], match[i - begin], mixers[i - begin],
                                     dec[i - begin]);
        out[i].push_back(static_cast<char>(s));
        next[i - begin] = s;
      }
      if (opt.progress) opt.progress->fetch_add(batch.size());
    }
    for (size_t i = begin; i < end; ++i) {
      if (dec[i - begin].BytesRead() != payloads[i].size()) bad[i] = 1;
    }
  });
  for (size_t i = 0; i < bad.size(); ++i) {
    if (bad[i]) {
      return absl::DataLossError(absl::StrCat(
          "chunk ", i, " is corrupt: its coded length does not match its content"));
    }
  }
  return out;
}

absl::StatusOr<std::string> Compress(const IntModel& model, std::string_view data,
                                     const CodecOptions& opt) {
  if (opt.chunk_tokens < 1 || opt.chunk_tokens > kMaxChunkTokens) {
    return absl::InvalidArgumentError(absl::StrCat("chunk size must be 1..", kMaxChunkTokens));
  }
  FrameHeader h;
  h.front_end = FrontEnd::kBytes;
  h.model = model.fingerprint();
  h.original_bytes = data.size();
  h.checksum = Xxh64(data);
  h.chunk_tokens = opt.chunk_tokens;
  std::vector<std::string_view> chunks;
  for (size_t pos = 0; pos < data.size(); pos += opt.chunk_tokens) {
    chunks.push_back(data.substr(pos, opt.chunk_tokens));
  }
  std::vector<std::string> payloads = EncodeChunks(model, chunks, opt);
  for (size_t i = 0; i < chunks.size(); ++i) {
    h.chunks.push_back({static_cast<uint32_t>(chunks[i].size()), payloads[i].size()});
  }
  return WriteFrame(h, payloads);
}

absl::StatusOr<std::string> Decompress(const IntModel& model, std::string_view frame,
                                       const CodecOptions& opt) {
  LMC_ASSIGN_OR_RETURN(ParsedFrame p, ParseFrame(frame));
  if (p.header.model != model.fingerprint()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "frame was made by model ", ToHex(p.header.model).substr(0, 16),
        "..., not by the loaded model ", model.fingerprint_hex().substr(0, 16), "..."));
  }
  std::vector<uint32_t> tokens;
  for (const ChunkEntry& c : p.header.chunks) tokens.push_back(c.tokens);
  LMC_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                       DecodeChunks(model, p.payloads, tokens, opt));
  std::string out;
  out.reserve(p.header.original_bytes);
  for (auto& s : parts) out += s;
  if (Xxh64(out) != p.header.checksum) {
    return absl::DataLossError("frame is corrupt: checksum of the decoded data does not match");
  }
  return out;
}

}  // namespace lmc
