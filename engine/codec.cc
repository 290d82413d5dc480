#include "engine/codec.h"

#include <algorithm>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/frame.h"
#include "core/status_macros.h"
#include "engine/chunk_coder.h"
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

}  // namespace

std::vector<std::string> EncodeChunks(const IntModel& model,
                                      const std::vector<std::string_view>& chunks,
                                      const CodecOptions& opt) {
  std::vector<std::string> out(chunks.size());
  ParallelGroups(chunks.size(), std::max(1, opt.batch_chunks),
                 ThreadCount(opt, chunks.size()), [&](size_t begin, size_t end) {
    BatchEvaluator ev(model);
    std::vector<std::unique_ptr<ChunkEncoder>> coders;
    for (size_t i = begin; i < end; ++i) {
      coders.push_back(std::make_unique<ChunkEncoder>(model, chunks[i]));
    }
    std::vector<uint16_t> freqs;
    std::vector<StreamInput> batch;
    std::vector<ChunkEncoder*> which;
    while (true) {
      batch.clear();
      which.clear();
      for (auto& c : coders) {
        if (c->done()) continue;
        batch.push_back({c->state(), c->NextInputs(opt.block_tokens)});
        which.push_back(c.get());
      }
      if (batch.empty()) break;
      ev.Evaluate(batch, &freqs);
      size_t row = 0;
      for (size_t b = 0; b < batch.size(); ++b) {
        which[b]->Code(&freqs[row * V]);
        row += batch[b].tokens.size();
      }
      if (opt.progress) opt.progress->fetch_add(row);
    }
    for (size_t i = begin; i < end; ++i) out[i] = coders[i - begin]->Finish();
  });
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeChunks(
    const IntModel& model, const std::vector<std::span<const uint8_t>>& payloads,
    const std::vector<uint32_t>& tokens, const CodecOptions& opt) {
  if (payloads.size() != tokens.size()) {
    return absl::InvalidArgumentError("DecodeChunks: payloads and token counts differ");
  }
  std::vector<absl::StatusOr<std::string>> out(payloads.size());
  ParallelGroups(payloads.size(), std::max(1, opt.batch_chunks),
                 ThreadCount(opt, payloads.size()), [&](size_t begin, size_t end) {
    BatchEvaluator ev(model);
    std::vector<std::unique_ptr<ChunkDecoder>> coders;
    for (size_t i = begin; i < end; ++i) {
      coders.push_back(std::make_unique<ChunkDecoder>(model, payloads[i], tokens[i]));
    }
    std::vector<uint16_t> freqs;
    std::vector<StreamInput> batch;
    std::vector<ChunkDecoder*> which;
    while (true) {
      // Continuous batching within the group: a finished chunk leaves the batch.
      batch.clear();
      which.clear();
      for (auto& c : coders) {
        if (c->done()) continue;
        batch.push_back({c->state(), c->NextInputs()});
        which.push_back(c.get());
      }
      if (batch.empty()) break;
      ev.Evaluate(batch, &freqs);
      for (size_t b = 0; b < batch.size(); ++b) which[b]->Code(&freqs[b * V]);
      if (opt.progress) opt.progress->fetch_add(batch.size());
    }
    for (size_t i = begin; i < end; ++i) out[i] = coders[i - begin]->Finish(i);
  });
  std::vector<std::string> parts;
  parts.reserve(out.size());
  for (auto& o : out) {
    if (!o.ok()) return o.status();
    parts.push_back(*std::move(o));
  }
  return parts;
}

absl::StatusOr<CompressPlan> PlanCompress(const IntModel& model, std::string_view data,
                                          uint32_t chunk_tokens) {
  if (chunk_tokens < 1 || chunk_tokens > kMaxChunkTokens) {
    return absl::InvalidArgumentError(absl::StrCat("chunk size must be 1..", kMaxChunkTokens));
  }
  CompressPlan p;
  p.header.front_end = FrontEnd::kBytes;
  p.header.model = model.fingerprint();
  p.header.original_bytes = data.size();
  p.header.checksum = Xxh64(data);
  p.header.chunk_tokens = chunk_tokens;
  for (size_t pos = 0; pos < data.size(); pos += chunk_tokens) {
    p.chunks.push_back(data.substr(pos, chunk_tokens));
  }
  return p;
}

absl::StatusOr<std::string> FinishCompress(CompressPlan plan,
                                           const std::vector<std::string>& payloads) {
  if (payloads.size() != plan.chunks.size()) {
    return absl::InternalError("FinishCompress: one payload per chunk expected");
  }
  for (size_t i = 0; i < plan.chunks.size(); ++i) {
    plan.header.chunks.push_back({static_cast<uint32_t>(plan.chunks[i].size()), payloads[i].size()});
  }
  return WriteFrame(plan.header, payloads);
}

absl::StatusOr<DecompressPlan> PlanDecompress(std::string_view frame) {
  DecompressPlan p;
  LMC_ASSIGN_OR_RETURN(p.frame, ParseFrame(frame));
  for (const ChunkEntry& c : p.frame.header.chunks) p.tokens.push_back(c.tokens);
  return p;
}

absl::Status CheckModel(const IntModel& model, const FrameHeader& header) {
  if (header.model == model.fingerprint()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "frame was made by model ", ToHex(header.model).substr(0, 16),
      "..., not by the loaded model ", model.fingerprint_hex().substr(0, 16), "..."));
}

absl::StatusOr<std::string> FinishDecompress(const DecompressPlan& plan,
                                             std::vector<std::string> parts) {
  std::string out;
  out.reserve(plan.frame.header.original_bytes);
  for (auto& s : parts) out += s;
  if (Xxh64(out) != plan.frame.header.checksum) {
    return absl::DataLossError("frame is corrupt: checksum of the decoded data does not match");
  }
  return out;
}

absl::StatusOr<std::string> Compress(const IntModel& model, std::string_view data,
                                     const CodecOptions& opt) {
  LMC_ASSIGN_OR_RETURN(CompressPlan plan, PlanCompress(model, data, opt.chunk_tokens));
  std::vector<std::string> payloads = EncodeChunks(model, plan.chunks, opt);
  return FinishCompress(std::move(plan), payloads);
}

absl::StatusOr<std::string> Decompress(const IntModel& model, std::string_view frame,
                                       const CodecOptions& opt) {
  LMC_ASSIGN_OR_RETURN(DecompressPlan plan, PlanDecompress(frame));
  LMC_RETURN_IF_ERROR(CheckModel(model, plan.frame.header));
  LMC_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                       DecodeChunks(model, plan.frame.payloads, plan.tokens, opt));
  return FinishDecompress(plan, std::move(parts));
}

}  // namespace lmc
