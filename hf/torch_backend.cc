#include "hf/torch_backend.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"

#ifdef LMC_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace lmc::hf {
namespace {

using torch::Tensor;
using torch::indexing::Slice;

constexpr int64_t kResidLimit = int64_t{1} << 24;
constexpr int64_t kScoreLimit = int64_t{1} << 30;
constexpr int64_t kMasked = int64_t{1}
                            << 40;  // below every score: exp weight 0

const auto kI64 = torch::TensorOptions().dtype(torch::kInt64);

// A host vector as a tensor of `dtype` on `dev` (a copy).
template <typename T>
Tensor On(const std::vector<T>& v, std::vector<int64_t> shape,
          torch::Dtype from, torch::Dtype dtype, const torch::Device& dev) {
  return torch::from_blob(const_cast<T*>(v.data()), shape, from)
      .to(dev, dtype, false, true);
}

Tensor FloorDiv(const Tensor& a, const Tensor& b) {
  return torch::div(a, b, "floor");
}
Tensor FloorDiv(const Tensor& a, int64_t b) {
  return torch::div(a, torch::scalar_tensor(b, kI64.device(a.device())),
                    "floor");
}

// round(n / d), halves up: floor((2n + d) / 2d) (kernels::RoundDiv).
Tensor RoundDiv(const Tensor& n, const Tensor& d) {
  return FloorDiv(2 * n + d, 2 * d);
}
// round(v / 2^s), halves up (kernels::RoundShift).
Tensor RoundShift(const Tensor& v, int s) {
  return FloorDiv(v + (int64_t{1} << (s - 1)), int64_t{1} << s);
}

// floor(sqrt(v)) for 0 <= v < 2^62: the float64 root is within one of it.
Tensor ISqrt(const Tensor& v) {
  Tensor s = torch::sqrt(v.to(torch::kFloat64)).floor().to(torch::kInt64);
  for (int i = 0; i < 2; ++i) {
    s = s - (s * s > v).to(torch::kInt64);
    s = s + ((s + 1) * (s + 1) <= v).to(torch::kInt64);
  }
  return s;
}

// Exact: integer operands whose partial sums stay below 2^53 (see the header).
Tensor MatMul(const Tensor& a, const Tensor& w64) {
  return torch::matmul(a.to(torch::kFloat64), w64.t()).to(torch::kInt64);
}

struct Linear {
  Tensor w;   // float64 [rows][cols]: int8 values
  Tensor m;   // int64 [rows]
  Tensor bh;  // b + 2^(s-1)
  Tensor p;   // 2^s
};

Linear MakeLinear(const QuantLinear& l, const torch::Device& dev) {
  std::vector<int64_t> bh(l.rows), p(l.rows);
  for (int o = 0; o < l.rows; ++o) {
    bh[o] = l.b[o] + (int64_t{1} << (l.s[o] - 1));
    p[o] = int64_t{1} << l.s[o];
  }
  return {On(l.w, {l.rows, l.cols}, torch::kInt8, torch::kFloat64, dev),
          On(l.m, {l.rows}, torch::kInt32, torch::kInt64, dev),
          On(bh, {l.rows}, torch::kInt64, torch::kInt64, dev),
          On(p, {l.rows}, torch::kInt64, torch::kInt64, dev)};
}

// round_shift(acc * m + b, s) per output.
Tensor Requant(const Tensor& acc, const Linear& l) {
  return FloorDiv(acc * l.m + l.bh, l.p);
}

struct Norm {
  Tensor g, b;  // int64 [d]
  int64_t eps = 0;
};

}  // namespace

struct TorchBackend::Weights {
  torch::Device device{torch::kCPU};
  Linear embed;               // w indexed by token, m/bh/p too
  Tensor pos_embed;           // int64 [context][d] (GPT-2)
  Tensor rope_cos, rope_sin;  // int64 [context][half] (Llama)
  Tensor exp_table;           // int64 [size]
  struct Layer {
    Norm attn_norm, mlp_norm;
    Linear q, k, v, o, up, gate, down;
    int64_t score_m = 0;
    int score_s = 1;
    Tensor act;                  // int64 [255]
    Tensor glu_m, glu_h, glu_p;  // int64 [d_ff]: multiplier, 2^(s-1), 2^s
  };
  std::vector<Layer> layers;
  Norm final_norm;
  Linear head;
};

namespace {

using Weights = TorchBackend::Weights;

Norm MakeNorm(const IntNorm& n, const torch::Device& dev) {
  const int64_t d = static_cast<int64_t>(n.g.size());
  return {On(n.g, {d}, torch::kInt64, torch::kInt64, dev),
          On(n.b, {d}, torch::kInt64, torch::kInt64, dev), n.eps};
}

// The norm of docs/pretrained.md over the last dimension of x (int64).
Tensor ApplyNorm(const Norm& n, const HfIntConfig& c, const Tensor& x) {
  const int64_t d = c.d_model;
  Tensor centred = x;
  if (c.gpt2) centred = x - FloorDiv(2 * x.sum(-1, true) + d, 2 * d);
  // sum(c^2) / d without int64 overflow for any d <= 2^16: c^2 <= 2^50 is
  // split at bit 20 and the two sums are divided separately.
  const Tensor sq = centred * centred;
  const Tensor hi = FloorDiv(sq, int64_t{1} << 20);
  const Tensor lo = sq - hi * (int64_t{1} << 20);
  const Tensor H = hi.sum(-1, true), L = lo.sum(-1, true);
  const Tensor qh = FloorDiv(H, d);
  const Tensor var = qh * (int64_t{1} << 20) +
                     FloorDiv((H - qh * d) * (int64_t{1} << 20) + L, d);
  const Tensor den = ISqrt(var + n.eps).clamp_min(1);
  return RoundShift(RoundDiv(centred * n.g, den) + n.b, c.norm_shift)
      .clamp(-127, 127);
}

// x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin over each head's halves; x is
// [A][M][heads][head_dim], cs/sn [M][half].
Tensor Rotate(const Tensor& x, const Tensor& cs, const Tensor& sn, int bits) {
  const int64_t half = x.size(-1) / 2;
  const Tensor a = x.narrow(-1, 0, half), b = x.narrow(-1, half, half);
  const Tensor c = cs.unsqueeze(1), s = sn.unsqueeze(1);  // [M][1][half]
  return torch::cat(
      {RoundShift(a * c - b * s, bits), RoundShift(b * c + a * s, bits)}, -1);
}

class TorchGroup : public ChunkGroup {
 public:
  TorchGroup(const HfIntModel& m, const Weights& w, std::span<const int> rooms)
      : m_(m),
        c_(m.config()),
        w_(w),
        rooms_(rooms.begin(), rooms.end()),
        pos_(rooms.size(), 0) {
    room_ = std::max(1, *std::max_element(rooms.begin(), rooms.end()));
    const int64_t kvd = c_.n_kv_heads * c_.head_dim;
    const auto opt =
        torch::TensorOptions().dtype(torch::kFloat64).device(w.device);
    for (int l = 0; l < c_.n_layers; ++l) {
      k_.push_back(
          torch::zeros({static_cast<int64_t>(rooms.size()), room_, kvd}, opt));
      v_.push_back(
          torch::zeros({static_cast<int64_t>(rooms.size()), room_, kvd}, opt));
    }
#ifdef LMC_WITH_CUDA
    if (w.device.is_cuda())
      stream_ = c10::cuda::getStreamFromPool(false, w.device.index());
#endif
  }

  absl::Status Feed(std::span<const uint32_t> chunks,
                    std::span<const uint32_t> tokens,
                    std::span<int32_t* const> logits) override {
    // Runs of rows per chunk, then the runs grouped by their first position:
    // each group is one forward pass over a [chunks][positions] grid.
    struct Run {
      uint32_t chunk;
      size_t first_row, rows;
    };
    std::vector<Run> runs;
    for (size_t r = 0; r < chunks.size(); ++r) {
      if (chunks[r] >= rooms_.size())
        return absl::InvalidArgumentError("no such chunk");
      if (!runs.empty() && runs.back().chunk == chunks[r]) {
        ++runs.back().rows;
      } else {
        runs.push_back({chunks[r], r, 1});
      }
    }
    for (const Run& run : runs) {
      if (pos_[run.chunk] + run.rows > static_cast<size_t>(rooms_[run.chunk])) {
        return absl::InvalidArgumentError("a chunk was fed past its room");
      }
    }
    try {
      c10::InferenceMode inference;
#ifdef LMC_WITH_CUDA
      std::optional<c10::cuda::CUDAStreamGuard> guard;
      if (stream_) guard.emplace(*stream_);
#endif
      std::vector<bool> done(runs.size(), false);
      for (size_t i = 0; i < runs.size(); ++i) {
        if (done[i]) continue;
        const int p0 = pos_[runs[i].chunk];
        std::vector<size_t> same;
        for (size_t j = i; j < runs.size(); ++j) {
          if (!done[j] && pos_[runs[j].chunk] == p0) {
            same.push_back(j);
            done[j] = true;
          }
        }
        size_t width = 0;
        for (size_t j : same) width = std::max(width, runs[j].rows);
        // Shorter runs are padded with token 0: the padding's keys and values
        // land in positions that are written again before anything reads them.
        std::vector<int64_t> grid(same.size() * width, 0), index;
        for (size_t a = 0; a < same.size(); ++a) {
          const Run& run = runs[same[a]];
          index.push_back(run.chunk);
          for (size_t k = 0; k < run.rows; ++k)
            grid[a * width + k] = tokens[run.first_row + k];
        }
        const Tensor out = Forward(
            On(grid,
               {static_cast<int64_t>(same.size()), static_cast<int64_t>(width)},
               torch::kInt64, torch::kInt64, w_.device),
            On(index, {static_cast<int64_t>(index.size())}, torch::kInt64,
               torch::kInt64, w_.device),
            p0, Everyone(index));
        const Tensor host = ToHost(out);
        const int32_t* h = host.data_ptr<int32_t>();
        for (size_t a = 0; a < same.size(); ++a) {
          const Run& run = runs[same[a]];
          for (size_t k = 0; k < run.rows; ++k) {
            std::copy_n(h + (a * width + k) * c_.vocab_size, c_.vocab_size,
                        logits[run.first_row + k]);
          }
        }
      }
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat("LibTorch: ", e.what_without_backtrace()));
    }
    for (const Run& run : runs) pos_[run.chunk] += static_cast<int>(run.rows);
    return absl::OkStatus();
  }

 private:
  // Logits [A][M][vocab] (int32) of feeding tokens [A][M] to chunks `index`
  // at positions p0 .. p0 + M - 1.
  // `all`: index is 0, 1, ... every chunk of the group, whose caches are then
  // written and read in place.
  Tensor Forward(const Tensor& tokens, const Tensor& index, int p0, bool all) {
    const int64_t A = tokens.size(0), M = tokens.size(1), L = p0 + M;
    const int64_t d = c_.d_model, hd = c_.head_dim, H = c_.n_heads,
                  KV = c_.n_kv_heads;
    const int64_t group = H / KV;
    const Tensor flat = tokens.reshape({-1});
    Tensor x = FloorDiv(w_.embed.w.index_select(0, flat).to(torch::kInt64) *
                                w_.embed.m.index_select(0, flat).unsqueeze(1) +
                            w_.embed.bh.index_select(0, flat).unsqueeze(1),
                        w_.embed.p.index_select(0, flat).unsqueeze(1))
                   .reshape({A, M, d});
    if (c_.gpt2) x = x + w_.pos_embed.narrow(0, p0, M);
    x = x.clamp(-kResidLimit, kResidLimit);
    Tensor cs, sn;
    if (!c_.gpt2) {
      cs = w_.rope_cos.narrow(0, p0, M);
      sn = w_.rope_sin.narrow(0, p0, M);
    }
    // Key j is seen by row i when j <= p0 + i.
    const Tensor seen =
        torch::arange(L, kI64.device(w_.device)).unsqueeze(0) <=
        (torch::arange(M, kI64.device(w_.device)) + p0).unsqueeze(1);  // [M][L]
    const int64_t table = w_.exp_table.size(0);
    for (int li = 0; li < c_.n_layers; ++li) {
      const Weights::Layer& l = w_.layers[li];
      Tensor z = ApplyNorm(l.attn_norm, c_, x);
      Tensor q = Requant(MatMul(z, l.q.w), l.q)
                     .clamp(-127, 127)
                     .reshape({A, M, H, hd});
      Tensor k = Requant(MatMul(z, l.k.w), l.k)
                     .clamp(-127, 127)
                     .reshape({A, M, KV, hd});
      const Tensor v = Requant(MatMul(z, l.v.w), l.v)
                           .clamp(-127, 127)
                           .reshape({A, M, KV * hd});
      if (!c_.gpt2) {
        q = Rotate(q, cs, sn, c_.rope_bits);
        k = Rotate(k, cs, sn, c_.rope_bits);
      }
      Tensor keys, values;  // [A][L][KV * hd], float64
      if (all) {
        k_[li].narrow(1, p0, M).copy_(k.reshape({A, M, KV * hd}));
        v_[li].narrow(1, p0, M).copy_(v);
        keys = k_[li].narrow(1, 0, L);
        values = v_[li].narrow(1, 0, L);
      } else {
        k_[li].index_put_({index, Slice(p0, L)},
                          k.reshape({A, M, KV * hd}).to(torch::kFloat64));
        v_[li].index_put_({index, Slice(p0, L)}, v.to(torch::kFloat64));
        keys = k_[li].index_select(0, index).narrow(1, 0, L);
        values = v_[li].index_select(0, index).narrow(1, 0, L);
      }
      // Head h = kv * group + g reads key/value head kv.
      const Tensor qg = q.reshape({A, M, KV, group, hd})
                            .permute({0, 2, 3, 1, 4})
                            .reshape({A, KV, group * M, hd})
                            .to(torch::kFloat64);
      const Tensor kt =
          keys.reshape({A, L, KV, hd}).permute({0, 2, 3, 1});  // [A][KV][hd][L]
      const Tensor dot =
          torch::matmul(qg, kt).to(torch::kInt64).reshape({A, KV, group, M, L});
      Tensor s = FloorDiv(dot * l.score_m + (int64_t{1} << (l.score_s - 1)),
                          int64_t{1} << l.score_s)
                     .clamp(-kScoreLimit, kScoreLimit);
      s = torch::where(seen, s,
                       torch::full({}, -kMasked, kI64.device(w_.device)));
      const Tensor mx = std::get<0>(s.max(-1, true));
      const Tensor idx = mx - s;
      const Tensor e = torch::where(
          idx < table,
          w_.exp_table.index_select(0, idx.clamp_max(table - 1).reshape({-1}))
              .reshape(idx.sizes()),
          torch::zeros({}, kI64.device(w_.device)));
      const Tensor sum =
          e.sum(-1, true);  // [A][KV][group][M][1], >= exp_table[0] >= 1
      const Tensor vt = values.reshape({A, L, KV, hd})
                            .permute({0, 2, 1, 3});  // [A][KV][L][hd]
      const Tensor acc =
          torch::matmul(e.reshape({A, KV, group * M, L}).to(torch::kFloat64),
                        vt)
              .to(torch::kInt64)
              .reshape({A, KV, group, M, hd});
      const Tensor att = RoundDiv(acc, sum)
                             .clamp(-127, 127)
                             .permute({0, 3, 1, 2, 4})
                             .reshape({A, M, H * hd});
      x = (x + Requant(MatMul(att, l.o.w), l.o))
              .clamp(-kResidLimit, kResidLimit);
      z = ApplyNorm(l.mlp_norm, c_, x);
      Tensor a = Requant(MatMul(z, l.up.w), l.up).clamp(-127, 127);
      if (c_.gpt2) {
        a = l.act.index_select(0, (a + 127).reshape({-1})).reshape(a.sizes());
      } else {
        const Tensor g = Requant(MatMul(z, l.gate.w), l.gate).clamp(-127, 127);
        const Tensor p =
            l.act.index_select(0, (g + 127).reshape({-1})).reshape(g.sizes()) *
            a;
        a = FloorDiv(p * l.glu_m + l.glu_h, l.glu_p).clamp(-127, 127);
      }
      x = (x + Requant(MatMul(a, l.down.w), l.down))
              .clamp(-kResidLimit, kResidLimit);
    }
    const Tensor z = ApplyNorm(w_.final_norm, c_, x);
    return Requant(MatMul(z, w_.head.w), w_.head)
        .clamp(-kScoreLimit, kScoreLimit)
        .to(torch::kInt32);
  }

  bool Everyone(const std::vector<int64_t>& index) const {
    if (index.size() != rooms_.size()) return false;
    for (size_t i = 0; i < index.size(); ++i) {
      if (index[i] != static_cast<int64_t>(i)) return false;
    }
    return true;
  }

  // The logits on the host: through a pinned buffer and the group's stream on
  // CUDA.
  Tensor ToHost(const Tensor& t) {
    if (!t.is_cuda()) return t.contiguous();
    if (!pinned_.defined() || pinned_.numel() < t.numel()) {
      pinned_ = torch::empty(
          {t.numel()},
          torch::TensorOptions().dtype(torch::kInt32).pinned_memory(true));
    }
    Tensor host = pinned_.narrow(0, 0, t.numel()).view(t.sizes());
    host.copy_(t, /*non_blocking=*/true);
#ifdef LMC_WITH_CUDA
    if (stream_) stream_->synchronize();
#endif
    return host;
  }

  const HfIntModel& m_;
  const HfIntConfig& c_;
  const Weights& w_;
  std::vector<int> rooms_, pos_;
  int64_t room_ = 1;
  std::vector<Tensor> k_, v_;  // per layer [chunks][room][kv width], float64
  Tensor pinned_;
#ifdef LMC_WITH_CUDA
  std::optional<c10::cuda::CUDAStream> stream_;
#endif
};

}  // namespace

TorchBackend::~TorchBackend() = default;

bool TorchBackend::BuiltWithCuda() {
#ifdef LMC_WITH_CUDA
  return true;
#else
  return false;
#endif
}

absl::StatusOr<std::unique_ptr<TorchBackend>> TorchBackend::Create(
    const HfIntModel& model, const std::string& device) {
  std::optional<torch::Device> dev;
  try {
    dev.emplace(device);
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a LibTorch device: \"", device, "\""));
  }
  if (dev->is_cuda() && !BuiltWithCuda()) {
    return absl::FailedPreconditionError(
        "this lmc was built without CUDA (configure with -DLMC_WITH_CUDA=ON "
        "against a CUDA "
        "LibTorch)");
  }
  if (dev->is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError("no CUDA device is visible");
  }
  if (!dev->is_cuda() && !dev->is_cpu()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported device \"", device, "\""));
  }
  auto b = std::unique_ptr<TorchBackend>(new TorchBackend());
  b->model_ = &model;
  b->w_ = std::make_unique<Weights>();
  Weights& w = *b->w_;
  const HfIntConfig& c = model.config();
  try {
    c10::InferenceMode inference;
    w.device = *dev;
    w.embed = MakeLinear(model.embed, *dev);
    if (c.gpt2) {
      w.pos_embed = On(model.pos_embed, {c.context, c.d_model}, torch::kInt32,
                       torch::kInt64, *dev);
    } else {
      const int64_t half = c.head_dim / 2;
      w.rope_cos = On(model.rope_cos, {c.context, half}, torch::kInt32,
                      torch::kInt64, *dev);
      w.rope_sin = On(model.rope_sin, {c.context, half}, torch::kInt32,
                      torch::kInt64, *dev);
    }
    w.exp_table =
        On(model.exp_table, {static_cast<int64_t>(model.exp_table.size())},
           torch::kInt32, torch::kInt64, *dev);
    for (const HfIntLayer& l : model.layers) {
      Weights::Layer t;
      t.attn_norm = MakeNorm(l.attn_norm, *dev);
      t.mlp_norm = MakeNorm(l.mlp_norm, *dev);
      t.q = MakeLinear(l.q, *dev);
      t.k = MakeLinear(l.k, *dev);
      t.v = MakeLinear(l.v, *dev);
      t.o = MakeLinear(l.o, *dev);
      t.up = MakeLinear(l.up, *dev);
      t.down = MakeLinear(l.down, *dev);
      t.score_m = l.score_m;
      t.score_s = l.score_s;
      t.act = On(l.act, {255}, torch::kInt32, torch::kInt64, *dev);
      if (!c.gpt2) {
        t.gate = MakeLinear(l.gate, *dev);
        std::vector<int64_t> h(c.d_ff), p(c.d_ff);
        for (int f = 0; f < c.d_ff; ++f) {
          h[f] = int64_t{1} << (l.glu_s[f] - 1);
          p[f] = int64_t{1} << l.glu_s[f];
        }
        t.glu_m = On(l.glu_m, {c.d_ff}, torch::kInt64, torch::kInt64, *dev);
        t.glu_h = On(h, {c.d_ff}, torch::kInt64, torch::kInt64, *dev);
        t.glu_p = On(p, {c.d_ff}, torch::kInt64, torch::kInt64, *dev);
      }
      w.layers.push_back(std::move(t));
    }
    w.final_norm = MakeNorm(model.final_norm, *dev);
    w.head = MakeLinear(model.head, *dev);
#ifdef LMC_WITH_CUDA
    if (dev->is_cuda()) {
      c10::cuda::CUDAGuard guard(*dev);
      size_t free = 0, total = 0;
      if (cudaMemGetInfo(&free, &total) == cudaSuccess)
        b->memory_budget_ = free / 10 * 8;
    }
#endif
  } catch (const c10::Error& e) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "loading the model onto ", device, ": ", e.what_without_backtrace()));
  }
  return b;
}

std::string TorchBackend::name() const {
  return absl::StrCat("torch:", w_->device.str());
}

size_t TorchBackend::CacheBytes(int positions) const {
  const HfIntConfig& c = model_->config();
  const size_t room =
      positions > 0 ? std::min(positions, c.context) : c.context;
  return room * c.n_layers * c.n_kv_heads * c.head_dim * 2 * sizeof(double);
}

absl::StatusOr<std::unique_ptr<ChunkGroup>> TorchBackend::Start(
    std::span<const int> rooms) const {
  if (rooms.empty()) return absl::InvalidArgumentError("a group of no chunks");
  for (int room : rooms) {
    if (room > model_->config().context) {
      return absl::InvalidArgumentError(
          "a chunk's room exceeds the model's context");
    }
  }
  try {
    return std::make_unique<TorchGroup>(*model_, *w_, rooms);
  } catch (const c10::Error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("key/value caches on ", w_->device.str(), ": ",
                     e.what_without_backtrace()));
  }
}

size_t TorchBackend::MemoryBudget() const { return memory_budget_; }

}  // namespace lmc::hf
