#include "engine/codec.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/frame.h"
#include "core/parallel.h"
#include "core/status_macros.h"
#include "engine/chunk_coder.h"
#include "media/media_codec.h"
#include "model/evaluator.h"

namespace lmc {
namespace {

constexpr int V = ModelConfig::kVocab;

int ThreadCount(const CodecOptions& opt, size_t work) {
  int t = opt.threads > 0 ? opt.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(t, work)));
}

// Codes a chunk's tail of media samples, which needs no model, once it is next.
template <typename Coder>
void CodeWithoutModel(Coder& c, const CodecOptions& opt) {
  if (c.done() || c.needs_model()) return;
  const size_t n = c.remaining();
  c.CodeWithoutModel();
  if (opt.progress) opt.progress->fetch_add(n);
}

// Frequency rows of the chunk's tokens [begin, end), from a stream that joins
// JoinWarmUp tokens before `begin` (exact from there: model/evaluator.h).
std::vector<uint16_t> SegmentFrequencies(const IntModel& model, BatchEvaluator& ev,
                                         std::string_view chunk, size_t begin, size_t end,
                                         int block) {
  const size_t warm = static_cast<size_t>(StreamState::JoinWarmUp(model.config()));
  const size_t start = begin > warm ? begin - warm : 0;
  StreamState state(model, static_cast<int64_t>(start));
  std::vector<int32_t> in;
  std::vector<uint16_t> rows, freqs;
  rows.reserve((end - begin) * V);
  for (size_t at = start; at < end;) {
    const size_t n = std::min<size_t>(std::max(1, block), end - at);
    ChunkInputs(chunk, at, n, &in);
    StreamInput input{&state, in};
    ev.Evaluate({&input, 1}, &freqs);
    const size_t skip = at < begin ? std::min(n, begin - at) : 0;
    rows.insert(rows.end(), freqs.begin() + skip * V, freqs.begin() + n * V);
    at += n;
  }
  return rows;
}

// One chunk on `threads` threads: segments of it are evaluated in parallel (each
// re-reading JoinWarmUp tokens of context) and coded in order by whichever
// thread finishes the segment that is next; at most threads + 1 segments of
// frequency rows (512 bytes a token) wait at a time.
std::string EncodeChunkInSegments(const IntModel& model, std::string_view chunk,
                                  const CodecOptions& opt, int threads,
                                  const media::TokenLayout* layout, uint64_t first_token) {
  ChunkEncoder encoder(model, chunk, layout, first_token);
  const size_t n = encoder.model_remaining();  // media samples after these need no model
  const size_t per = std::max<size_t>(1, opt.segment_tokens);
  const size_t warm = static_cast<size_t>(StreamState::JoinWarmUp(model.config()));
  size_t segments = (n + per - 1) / per;
  segments = (segments + threads - 1) / threads * threads;  // even waves
  segments = std::max<size_t>(1, std::min(segments, n / (4 * warm + 1)));  // warm-up <= 1/4
  const size_t size = (n + segments - 1) / segments;
  segments = n > 0 ? (n + size - 1) / size : 0;
  std::mutex mu;
  std::condition_variable room;
  size_t next_segment = 0, next_to_code = 0;  // guarded by mu
  bool coding = false;                        // a thread is coding; guarded by mu
  std::map<size_t, std::vector<uint16_t>> ready;  // computed, not coded; guarded by mu
  auto worker = [&] {
    BatchEvaluator ev(model);
    while (true) {
      size_t i;
      {
        std::unique_lock lock(mu);
        room.wait(lock, [&] {
          return next_segment >= segments || next_segment <= next_to_code + threads;
        });
        if (next_segment >= segments) return;
        i = next_segment++;
      }
      std::vector<uint16_t> rows =
          SegmentFrequencies(model, ev, chunk, i * size, std::min(n, (i + 1) * size),
                             opt.block_tokens);
      std::unique_lock lock(mu);
      ready.emplace(i, std::move(rows));
      if (coding) continue;
      coding = true;
      for (auto it = ready.find(next_to_code); it != ready.end(); it = ready.find(next_to_code)) {
        std::vector<uint16_t> todo = std::move(it->second);
        ready.erase(it);
        lock.unlock();
        encoder.CodeRows(todo.data(), todo.size() / V);
        if (opt.progress) opt.progress->fetch_add(todo.size() / V);
        lock.lock();
        ++next_to_code;
        room.notify_all();
      }
      coding = false;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  CodeWithoutModel(encoder, opt);
  return encoder.Finish();
}

}  // namespace

std::vector<std::string> EncodeChunks(const IntModel& model,
                                      const std::vector<std::string_view>& chunks,
                                      const CodecOptions& opt,
                                      const media::TokenLayout* layout) {
  std::vector<std::string> out(chunks.size());
  std::vector<uint64_t> first(chunks.size() + 1, 0);
  for (size_t i = 0; i < chunks.size(); ++i) first[i + 1] = first[i] + chunks[i].size();
  const int threads = ThreadCount(opt, SIZE_MAX);
  if (threads > 1 && opt.segment_tokens > 0 && chunks.size() < size_t(threads)) {
    // Fewer chunks than threads: each chunk in parallel segments instead. The
    // bytes are the same either way.
    for (size_t i = 0; i < chunks.size(); ++i) {
      out[i] = EncodeChunkInSegments(model, chunks[i], opt, threads, layout, first[i]);
    }
    return out;
  }
  ParallelGroups(chunks.size(), std::max(1, opt.batch_chunks),
                 ThreadCount(opt, chunks.size()), [&](size_t begin, size_t end) {
    BatchEvaluator ev(model);
    std::vector<std::unique_ptr<ChunkEncoder>> coders;
    for (size_t i = begin; i < end; ++i) {
      coders.push_back(std::make_unique<ChunkEncoder>(model, chunks[i], layout, first[i]));
    }
    std::vector<uint16_t> freqs;
    std::vector<StreamInput> batch;
    std::vector<ChunkEncoder*> which;
    while (true) {
      batch.clear();
      which.clear();
      for (auto& c : coders) {
        CodeWithoutModel(*c, opt);
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
    const std::vector<uint32_t>& tokens, const CodecOptions& opt,
    const media::TokenLayout* layout) {
  if (payloads.size() != tokens.size()) {
    return absl::InvalidArgumentError("DecodeChunks: payloads and token counts differ");
  }
  std::vector<uint64_t> first(tokens.size() + 1, 0);
  for (size_t i = 0; i < tokens.size(); ++i) first[i + 1] = first[i] + tokens[i];
  std::vector<absl::StatusOr<std::string>> out(payloads.size());
  // A chunk decodes one token a step. With at least twice as many threads as
  // chunks, each group of chunks takes a helper thread that does half of every
  // step (model/evaluator.h); the bytes are the same either way.
  const int threads = ThreadCount(opt, payloads.size());
  const bool helpers = 2 * threads <= ThreadCount(opt, SIZE_MAX);
  ParallelGroups(payloads.size(), std::max(1, opt.batch_chunks), threads,
                 [&](size_t begin, size_t end) {
    BatchEvaluator ev(model);
    std::optional<HelperThread> helper;
    if (helpers) {
      helper.emplace();
      ev.set_helper(&*helper);
    }
    std::vector<std::unique_ptr<ChunkDecoder>> coders;
    for (size_t i = begin; i < end; ++i) {
      coders.push_back(
          std::make_unique<ChunkDecoder>(model, payloads[i], tokens[i], layout, first[i]));
    }
    std::vector<uint16_t> freqs;
    std::vector<StreamInput> batch;
    std::vector<ChunkDecoder*> which;
    while (true) {
      // Continuous batching within the group: a finished chunk leaves the batch.
      batch.clear();
      which.clear();
      for (auto& c : coders) {
        CodeWithoutModel(*c, opt);
        if (c->done()) continue;
        batch.push_back({c->state(), c->NextInputs()});
        which.push_back(c.get());
      }
      if (batch.empty()) break;
      ev.Evaluate(batch, &freqs);
      size_t row = 0, decoded = 0;
      for (size_t b = 0; b < batch.size(); ++b) {
        const size_t before = which[b]->remaining();
        which[b]->Code(&freqs[row * V]);
        row += batch[b].tokens.size();
        decoded += before - which[b]->remaining();
      }
      if (opt.progress) opt.progress->fetch_add(decoded);
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
                                          uint32_t chunk_tokens,
                                          std::optional<media::Modality> modality) {
  if (chunk_tokens > kMaxChunkTokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk size must be at most ", kMaxChunkTokens, " (0: by front-end)"));
  }
  CompressPlan p;
  p.header.front_end = FrontEnd::kBytes;
  p.header.model = model.fingerprint();
  p.header.original_bytes = data.size();
  p.header.checksum = Xxh64(data);
  media::MediaTokens m = media::ToTokens(data, modality);
  if (m.modality != media::Modality::kBytes) {
    p.header.front_end = static_cast<FrontEnd>(m.modality);
    p.header.front_end_params = std::move(m.params);
    p.tokens = std::make_unique<std::string>(std::move(m.tokens));
    p.layout = std::make_shared<const media::TokenLayout>(m.layout);
    data = *p.tokens;
  }
  if (chunk_tokens == 0) {
    chunk_tokens = p.layout ? kDefaultMediaChunkTokens : kDefaultChunkTokens;
  }
  // Chunks of equal size (the last up to n - 1 tokens shorter) rather than full
  // ones and a short tail, so that n chunks decode in n equal parallel parts.
  const size_t n = (data.size() + chunk_tokens - 1) / chunk_tokens;
  if (n > 1) chunk_tokens = static_cast<uint32_t>((data.size() + n - 1) / n);
  p.header.chunk_tokens = chunk_tokens;
  p.header.compact = n <= 1 && p.header.original_bytes <= kCompactMaxBytes;
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
  const FrameHeader& h = p.frame.header;
  if (h.front_end == FrontEnd::kTokens) {
    return absl::FailedPreconditionError(absl::StrCat(
        "frame holds the BPE tokens of a converted model (", ToHex(h.model).substr(0, 16),
        "...); decompress it with that model (lmc --model FILE)"));
  }
  if (h.front_end != FrontEnd::kBytes) {
    LMC_ASSIGN_OR_RETURN(media::TokenLayout layout,
                         media::ParamsLayout(static_cast<media::Modality>(h.front_end),
                                             h.front_end_params));
    p.layout = std::make_shared<const media::TokenLayout>(std::move(layout));
  }
  for (const ChunkEntry& c : p.frame.header.chunks) p.tokens.push_back(c.tokens);
  return p;
}

absl::Status CheckModel(const IntModel& model, const FrameHeader& header) {
  if (FrameModelIs(header, model.fingerprint())) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "frame was made by model ", ToHex(header.model).substr(0, 16),
      "..., not by the loaded model ", model.fingerprint_hex().substr(0, 16), "..."));
}

absl::StatusOr<std::string> FinishDecompress(const DecompressPlan& plan,
                                             std::vector<std::string> parts) {
  const FrameHeader& h = plan.frame.header;
  std::string out;
  out.reserve(h.original_bytes);
  for (auto& s : parts) out += s;
  if (plan.layout != nullptr) {
    LMC_ASSIGN_OR_RETURN(out, media::FromTokens(*plan.layout, out));
  }
  if (out.size() != h.original_bytes || !FrameChecksumIs(plan.frame.header, Xxh64(out))) {
    return absl::DataLossError("frame is corrupt: checksum of the decoded data does not match");
  }
  return out;
}

absl::StatusOr<std::string> Compress(const IntModel& model, std::string_view data,
                                     const CodecOptions& opt) {
  LMC_ASSIGN_OR_RETURN(CompressPlan plan,
                       PlanCompress(model, data, opt.chunk_tokens, opt.modality));
  std::vector<std::string> payloads = EncodeChunks(model, plan.chunks, opt, plan.layout.get());
  return FinishCompress(std::move(plan), payloads);
}

absl::StatusOr<std::string> Decompress(const IntModel& model, std::string_view frame,
                                       const CodecOptions& opt) {
  LMC_ASSIGN_OR_RETURN(DecompressPlan plan, PlanDecompress(frame));
  LMC_RETURN_IF_ERROR(CheckModel(model, plan.frame.header));
  LMC_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                       DecodeChunks(model, plan.frame.payloads, plan.tokens, opt,
                                    plan.layout.get()));
  return FinishDecompress(plan, std::move(parts));
}

}  // namespace lmc
