#include "model/evaluator.h"

#include <algorithm>
#include <cstring>

#include "core/range_coder.h"
#include "model/attention_kernels.h"
#include "model/kernels.h"

namespace lmc {
namespace {

constexpr int64_t kResidualLimit = int64_t{1} << 24;  // keeps norm sums in int64
constexpr int64_t kScoreLimit = int64_t{1} << 30;
// Smaller products are not split: a hand-over to the helper and back takes
// about a microsecond, what one core takes for some 60K weights from L2.
constexpr int64_t kMinSplitWeights = 64 * 1024;

}  // namespace

StreamState::StreamState(const IntModel& model, int64_t start) : StreamState(model) {
  pos_ = start;
}

StreamState::StreamState(const IntModel& model)
    : kv_(model.config().d_model, model.config().n_heads, model.config().window),
      layers_(model.config().n_layers) {
  keys_.assign(size_t(layers_) * kv_.key_bytes, 128);
  values_.assign(size_t(layers_) * kv_.value_bytes, 0);
}

namespace {
// A slot's bytes in one layer: 4 per key group of every head, and d_model values.
size_t SlotBytes(const kernels::KvLayout& kv) {
  return size_t(kv.heads) * kv.groups * 4 + kv.d_model;
}
}  // namespace

void StreamState::CopySlot(int slot, uint8_t* bytes, bool save) {
  // The slot's stored bytes: 4 in each key group of every head, and one in
  // each dimension's quad of the values.
  auto copy = [&](void* cache, size_t n) {
    save ? std::memcpy(bytes, cache, n) : std::memcpy(cache, bytes, n);
    bytes += n;
  };
  for (int layer = 0; layer < layers_; ++layer) {
    uint8_t* keys = &keys_[size_t(layer) * kv_.key_bytes];
    for (int hg = 0; hg < kv_.heads * kv_.groups; ++hg) {
      copy(keys + (size_t(hg) * kv_.slots + slot) * 4, 4);
    }
    int8_t* quad = &values_[size_t(layer) * kv_.value_bytes] +
                   size_t(slot / 4) * kv_.value_stride + slot % 4;
    for (int i = 0; i < kv_.d_model; ++i) copy(quad + 4 * i, 1);
  }
}

void StreamState::Checkpoint(int n) {
  n = std::clamp(n, 0, kv_.window);
  checkpoint_ = pos_;
  checkpoint_n_ = n;
  const size_t per_slot = SlotBytes(kv_) * layers_;
  saved_.resize(size_t(n) * per_slot);
  for (int i = 0; i < n; ++i) {
    CopySlot(static_cast<int>((pos_ + i) % kv_.window), &saved_[size_t(i) * per_slot], true);
  }
}

void StreamState::Rewind(int64_t pos) {
  // Only positions the checkpoint covers can be forgotten.
  pos = std::clamp<int64_t>(pos, checkpoint_, std::min(pos_, checkpoint_ + checkpoint_n_));
  const size_t per_slot = SlotBytes(kv_) * layers_;
  for (int64_t p = pos; p < pos_ && p < checkpoint_ + checkpoint_n_; ++p) {
    CopySlot(static_cast<int>(p % kv_.window), &saved_[size_t(p - checkpoint_) * per_slot],
             false);
  }
  pos_ = pos;
}

void FrequenciesFromLogits(const int64_t* logits, const std::vector<int32_t>& table,
                           uint16_t* freqs) {
  static_assert(ModelConfig::kVocab == 256 && kTotal == 65536);
  kernels::FrequenciesFromLogits(logits, table.data(), static_cast<int>(table.size()), freqs);
}

template <typename Finish>
void BatchEvaluator::Linear(const int8_t* a, int rows, const kernels::PackedWeights& w,
                            Finish finish) {
  const int half = w.cols / kernels::kColumnBlock / 2 * kernels::kColumnBlock;
  if (helper_ == nullptr || rows > kHelpedRows || half == 0 ||
      int64_t{w.cols} * w.k < kMinSplitWeights) {
    kernels::MatMul(a, rows, w, acc_.data());
    finish(0, w.cols);
    return;
  }
  helper_->Split([&](int part) {
    const int begin = part == 0 ? 0 : half, end = part == 0 ? half : w.cols;
    kernels::MatMulColumns(a, rows, w, begin, end, acc_.data());
    finish(begin, end);
  });
}

void BatchEvaluator::Norm(int rows) {
  const ModelConfig& c = m_.config();
  const int d = c.d_model;
  const int64_t eps = std::max<int64_t>(1, (int64_t{1} << (2 * c.residual_bits)) >> 17);
  z_.resize(size_t(rows) * d);
  num_.resize(std::max<size_t>(num_.size(), d));
  for (int r = 0; r < rows; ++r) {
    const int64_t sq = kernels::CentreRow(&x_[size_t(r) * d], d, c.norm_steps, num_.data());
    const int64_t den = std::max<int64_t>(
        1, static_cast<int64_t>(kernels::ISqrt(static_cast<uint64_t>(sq / d + eps))));
    kernels::DivideClampInt8(num_.data(), d, den, &z_[size_t(r) * d]);
  }
}

void BatchEvaluator::Attention(int layer, int rows) {
  const ModelConfig& c = m_.config();
  const int d = c.d_model, W = c.window;
  // Row by row: a stream's next row overwrites the key and value slot that
  // this one may still read.
  for (int row = 0; row < rows; ++row) {
    const RowRef& r = row_refs_[row];
    const int8_t* q = &qkv_[size_t(row) * 3 * d];
    const int slot = static_cast<int>(r.pos % W);
    kv_.StoreKey(&r.state->keys_[size_t(layer) * kv_.key_bytes], slot, q + d);
    kv_.StoreValue(&r.state->values_[size_t(layer) * kv_.value_bytes], slot, q + 2 * d);
    for (int h = 0; h < c.n_heads; ++h) AttendHead(layer, r, row, h, head_[0]);
  }
}

bool BatchEvaluator::ShareAttention(int rows) const {
  const ModelConfig& c = m_.config();
  return helper_ != nullptr && rows <= kHelpedRows && c.n_heads > 1 &&
         c.head_dim() % kernels::kColumnBlock == 0;
}

void BatchEvaluator::SharedAttention(int layer, int rows) {
  const ModelConfig& c = m_.config();
  const int d = c.d_model, hd = c.head_dim(), half = (c.n_heads + 1) / 2;
  const IntLayer& L = m_.layers[layer];
  helper_->Split([&](int part) {
    const int h0 = part == 0 ? 0 : half, h1 = part == 0 ? half : c.n_heads;
    // The query, key and value columns of this thread's heads.
    for (int base : {0, d, 2 * d}) {
      const int begin = base + h0 * hd, end = base + h1 * hd;
      kernels::MatMulColumns(z_.data(), rows, L.qkv.packed, begin, end, acc_.data());
      ToInt8(L.qkv, rows, 3 * d, begin, end, -127, qkv_.data());
    }
    // Row by row, as in Attention; each thread stores and reads only the
    // keys and values of its own heads.
    for (int row = 0; row < rows; ++row) {
      const RowRef& r = row_refs_[row];
      const int8_t* q = &qkv_[size_t(row) * 3 * d];
      const int slot = static_cast<int>(r.pos % c.window);
      kv_.StoreKey(&r.state->keys_[size_t(layer) * kv_.key_bytes], slot, q + d, h0, h1);
      kv_.StoreValue(&r.state->values_[size_t(layer) * kv_.value_bytes], slot, q + 2 * d, h0,
                     h1);
      for (int h = h0; h < h1; ++h) AttendHead(layer, r, row, h, head_[part]);
    }
    kernels::MatMulSpan(att_.data(), rows, L.out.packed, h0 * hd, h1 * hd, part_[part].data());
  });
  AddParts(size_t(rows) * d);
}

bool BatchEvaluator::ShareFeedForward(int rows) const {
  const ModelConfig& c = m_.config();
  return helper_ != nullptr && rows <= kHelpedRows && c.d_ff / kernels::kColumnBlock >= 2 &&
         2 * int64_t{c.d_ff} * c.d_model >= kMinSplitWeights;
}

void BatchEvaluator::SharedFeedForward(int layer, int rows) {
  const ModelConfig& c = m_.config();
  const int d = c.d_model, ff = c.d_ff;
  const IntLayer& L = m_.layers[layer];
  const int half = ff / kernels::kColumnBlock / 2 * kernels::kColumnBlock;
  helper_->Split([&](int part) {
    const int begin = part == 0 ? 0 : half, end = part == 0 ? half : ff;
    kernels::MatMulColumns(z_.data(), rows, L.ff1.packed, begin, end, acc_.data());
    ToInt8(L.ff1, rows, ff, begin, end, 0, h_.data());
    kernels::MatMulSpan(h_.data(), rows, L.ff2.packed, begin, end, part_[part].data());
  });
  AddParts(size_t(rows) * d);
}

void BatchEvaluator::ToInt8(const QuantLinear& l, int rows, int cols, int b, int e, int lo,
                            int8_t* out) {
  kernels::RequantInt8(&acc_[b], rows, e - b, &l.m[b], &l.s[b], &l.b[b], lo, out + b, cols);
}

void BatchEvaluator::AddParts(size_t n) {
  for (size_t i = 0; i < n; ++i) acc_[i] = part_[0][i] + part_[1][i];
}

void BatchEvaluator::AttendHead(int layer, const RowRef& r, int row, int h,
                                HeadScratch& scratch) {
  const ModelConfig& c = m_.config();
  const IntLayer& L = m_.layers[layer];
  const int d = c.d_model, hd = c.head_dim(), W = c.window;
  const int8_t* q = &qkv_[size_t(row) * 3 * d];
  const uint8_t* keys = &r.state->keys_[size_t(layer) * kv_.key_bytes];
  const int8_t* values = &r.state->values_[size_t(layer) * kv_.value_bytes];
  const int slot = static_cast<int>(r.pos % W);
  // Slots 0..n-1 hold positions; slot t is at distance (slot - t) mod W.
  const int n = static_cast<int>(std::min<int64_t>(r.pos + 1, W));
  std::copy(q + h * hd, q + (h + 1) * hd, scratch.query.begin());  // the padding stays 0
  kernels::QueryKeyDots(scratch.query.data(), kv_.HeadKeys(keys, h), kv_.groups, kv_.slots, n,
                        scratch.dot.data());
  const int64_t denom = kernels::AttentionWeights(
      scratch.dot.data(), n, slot, W, L.score_m, L.score_s, m_.alibi[h], m_.exp_table.data(),
      static_cast<int>(m_.exp_table.size()), scratch.weight.data());
  kernels::WeightedValueSum(scratch.weight.data(), n, kv_.HeadValues(values, h),
                            kv_.value_stride, hd, scratch.num.data());
  kernels::DivideClampInt8(scratch.num.data(), hd, denom, &att_[size_t(row) * d + h * hd]);
}

void BatchEvaluator::Evaluate(std::span<const StreamInput> inputs,
                              std::vector<uint16_t>* freqs) {
  const ModelConfig& c = m_.config();
  const int d = c.d_model, ff = c.d_ff;
  int rows = 0;
  for (const StreamInput& in : inputs) rows += static_cast<int>(in.tokens.size());
  freqs->resize(size_t(rows) * ModelConfig::kVocab);
  if (rows == 0) return;
  x_.resize(size_t(rows) * d);
  row_refs_.clear();
  {
    int r = 0;
    for (const StreamInput& in : inputs) {
      for (size_t j = 0; j < in.tokens.size(); ++j) {
        row_refs_.push_back({in.state, in.state->pos_ + static_cast<int64_t>(j)});
        const int32_t t = in.tokens[j];
        const int32_t tok = std::clamp<int32_t>(t, 0, ModelConfig::kBos);
        std::memcpy(&x_[size_t(r) * d], &m_.embed[size_t(tok) * d], d * sizeof(int32_t));
        ++r;
      }
    }
  }
  acc_.resize(size_t(rows) * std::max({3 * d, ff, int(ModelConfig::kVocab)}));
  qkv_.resize(size_t(rows) * 3 * d);
  att_.resize(size_t(rows) * d);
  h_.resize(size_t(rows) * ff);
  for (auto& part : part_) part.resize(size_t(rows) * d);
  auto to_int8 = [&](const QuantLinear& l, int cols, int lo, int8_t* out) {
    return [&, cols, lo, out](int b, int e) { ToInt8(l, rows, cols, b, e, lo, out); };
  };
  auto add_residual = [&](const QuantLinear& l) {
    return [&](int b, int e) {
      kernels::RequantAddResidual(&acc_[b], rows, e - b, &l.m[b], &l.s[b], &l.b[b],
                                  kResidualLimit, &x_[b], d);
    };
  };
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const IntLayer& L = m_.layers[layer];
    Norm(rows);
    if (ShareAttention(rows)) {
      SharedAttention(layer, rows);
      add_residual(L.out)(0, d);
    } else {
      Linear(z_.data(), rows, L.qkv.packed, to_int8(L.qkv, 3 * d, -127, qkv_.data()));
      Attention(layer, rows);
      Linear(att_.data(), rows, L.out.packed, add_residual(L.out));
    }
    Norm(rows);
    if (ShareFeedForward(rows)) {
      SharedFeedForward(layer, rows);
      add_residual(L.ff2)(0, d);
    } else {
      Linear(z_.data(), rows, L.ff1.packed, to_int8(L.ff1, ff, 0, h_.data()));
      Linear(h_.data(), rows, L.ff2.packed, add_residual(L.ff2));
    }
  }
  Norm(rows);
  constexpr int V = ModelConfig::kVocab;
  logits_.resize(size_t(rows) * V);
  Linear(z_.data(), rows, m_.head.packed, [&](int b, int e) {
    kernels::RequantClampInt64(&acc_[b], rows, e - b, &m_.head.m[b], &m_.head.s[b],
                               &m_.head.b[b], kScoreLimit, &logits_[b], V);
  });
  for (int r = 0; r < rows; ++r) {
    FrequenciesFromLogits(&logits_[size_t(r) * V], m_.exp_table, &(*freqs)[size_t(r) * V]);
  }
  for (const StreamInput& in : inputs) in.state->pos_ += static_cast<int64_t>(in.tokens.size());
}

}  // namespace lmc
