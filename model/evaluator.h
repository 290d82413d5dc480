// Exact batched evaluation of the integer transformer.
//
// A StreamState is one chunk being coded: its position and its key/value ring
// buffers (the last `window` positions of every layer). BatchEvaluator advances
// any number of streams by any number of tokens each in one call, and returns,
// for every token fed, the frequency table (256 entries, each >= 1, total 2^16)
// of the token that follows it. The tables depend only on each stream's own
// tokens: never on its companions in the batch, on how its tokens are split
// across calls (one call with the whole chunk for compression, one token per
// call for decompression), on threads or on the CPU. tests/exactness_test.cc
// proves it.
//
//   StreamState s(model);
//   BatchEvaluator ev(model);
//   std::vector<uint16_t> freqs;
//   int32_t in[] = {kBos, 'h', 'i'};
//   StreamInput input{&s, in};
//   ev.Evaluate({&input, 1}, &freqs);  // 3 x 256 frequencies
#ifndef LMC_MODEL_EVALUATOR_H_
#define LMC_MODEL_EVALUATOR_H_

#include <cstdint>
#include <span>
#include <vector>

#include "core/helper_thread.h"
#include "model/attention_kernels.h"
#include "model/int_model.h"

namespace lmc {

class StreamState {
 public:
  explicit StreamState(const IntModel& model);
  // A stream that joins at position `start` with an empty cache, to be fed the
  // chunk's inputs from there. Each layer looks window - 1 positions back, so
  // its tables equal those of a stream fed from position 0 for every position
  // from start + JoinWarmUp(config) on; compression computes a long chunk in
  // segments on several threads this way.
  StreamState(const IntModel& model, int64_t start);
  static int64_t JoinWarmUp(const ModelConfig& c) {
    return int64_t{c.n_layers} * (c.window - 1);
  }
  int64_t position() const { return pos_; }

  // For speculative decoding, which feeds positions whose inputs are guesses
  // and keeps those whose guesses were right: Checkpoint(n) before feeding n
  // positions (n <= window) keeps the cache slots they will overwrite;
  // Rewind(pos) after, with pos between the checkpoint's position and
  // position(), forgets the positions from pos on, as if they had never been
  // fed. The tables that follow are those of a stream that never saw them.
  void Checkpoint(int n);
  void Rewind(int64_t pos);

 private:
  friend class BatchEvaluator;
  // Copies slot `slot` of every layer's keys and values to `bytes` (save) or
  // from them.
  void CopySlot(int slot, uint8_t* bytes, bool save);

  kernels::KvLayout kv_;
  int layers_;
  int64_t pos_ = 0;              // tokens fed so far
  AlignedVector<uint8_t> keys_;  // [layer] keys, kernels::KvLayout
  AlignedVector<int8_t> values_;  // [layer] values, kernels::KvLayout
  int64_t checkpoint_ = -1;      // position of the last Checkpoint
  int checkpoint_n_ = 0;
  std::vector<uint8_t> saved_;   // [checkpoint_n_][slot bytes]
};

struct StreamInput {
  StreamState* state;
  std::span<const int32_t> tokens;  // 0..255, or ModelConfig::kBos
};

class BatchEvaluator {
 public:
  explicit BatchEvaluator(const IntModel& model)
      : m_(model),
        kv_(model.config().d_model, model.config().n_heads, model.config().window),
        head_{HeadScratch(kv_), HeadScratch(kv_)} {}
  BatchEvaluator(const BatchEvaluator&) = delete;
  BatchEvaluator& operator=(const BatchEvaluator&) = delete;

  // Appends nothing: resizes *freqs to rows * 256 (rows = all tokens, inputs in
  // order) and fills it.
  void Evaluate(std::span<const StreamInput> inputs, std::vector<uint16_t>* freqs);

  // Shares steps of at most kHelpedRows rows with `helper` (null: none; it
  // must outlive its use here), two hand-overs a layer:
  //   attention    by heads: each thread computes its heads' query, key and
  //                value columns, stores its heads' keys and values, attends,
  //                and multiplies the outputs by their rows of the output
  //                projection (MatMulSpan);
  //   feed-forward each thread a half of ff1's columns, then ff2 over that
  //                half of its inputs;
  // the two partial sums added after each join. Decoding a single
  // chunk feeds one row a step, which on one core streams every weight from
  // L3; on two, each core streams half, from its own L2. The tables are the
  // same whichever thread runs a half (core/helper_thread.h): integer sums.
  static constexpr int kHelpedRows = 4;
  void set_helper(HelperThread* helper) { helper_ = helper; }

 private:
  // acc_ = a times w, then finish(begin, end) on columns [begin, end) of every
  // row; with a helper (and at most kHelpedRows rows), each thread does both
  // for one half of the columns.
  template <typename Finish>
  void Linear(const int8_t* a, int rows, const kernels::PackedWeights& w, Finish finish);
  // One attention head's working memory; part 1 is the helper's.
  struct HeadScratch {
    explicit HeadScratch(const kernels::KvLayout& kv)
        : query(size_t(4) * kv.groups, 0), dot(kv.slots), weight(kv.slots), num(kv.head_dim) {}
    AlignedVector<int8_t> query;  // the head's query, zero-padded to the key groups
    AlignedVector<int32_t> dot, weight;
    AlignedVector<int64_t> num;
  };
  // A row of the batch: its stream and position.
  struct RowRef {
    StreamState* state;
    int64_t pos;
  };

  void Norm(int rows);
  // Row by row: stores the row's key and value, then runs its heads.
  void Attention(int layer, int rows);
  void AttendHead(int layer, const RowRef& r, int row, int h, HeadScratch& scratch);
  // With the helper (see set_helper): qkv, Attention and the output
  // projection, and ff1 and ff2, each leaving the product's sum in acc_ for
  // the residual. Share* say whether the step and the model's shape let them.
  bool ShareAttention(int rows) const;
  void SharedAttention(int layer, int rows);
  bool ShareFeedForward(int rows) const;
  void SharedFeedForward(int layer, int rows);
  // Columns [b, e) of acc_'s rows (of `cols` each) requantised to int8 in
  // [lo, 127], into out's rows (also `cols` apart).
  void ToInt8(const QuantLinear& l, int rows, int cols, int b, int e, int lo, int8_t* out);
  // acc_[0, n) = part_[0] + part_[1].
  void AddParts(size_t n);

  const IntModel& m_;
  const kernels::KvLayout kv_;  // how StreamState keeps its keys and values
  HelperThread* helper_ = nullptr;
  // Scratch, reused across calls: one evaluator per thread.
  AlignedVector<int32_t> x_;     // residual stream [rows][d]
  AlignedVector<int8_t> z_;      // normalised activations [rows][d]
  AlignedVector<int32_t> acc_;   // matmul accumulators
  AlignedVector<int8_t> qkv_;    // [rows][3d]
  AlignedVector<int8_t> att_;    // attention outputs [rows][d]
  AlignedVector<int8_t> h_;      // MLP hidden [rows][d_ff]
  AlignedVector<int32_t> part_[2];  // the threads' partial sums [rows][d]
  AlignedVector<int64_t> num_;    // norm numerators
  HeadScratch head_[2];
  std::vector<RowRef> row_refs_;
  AlignedVector<int64_t> logits_;  // [rows][vocabulary]
};

// 256 integer logits (score units) -> frequencies >= 1 summing to 2^16, through
// the model's exp table. Exposed for tests.
void FrequenciesFromLogits(const int64_t* logits, const std::vector<int32_t>& exp_table,
                           uint16_t* freqs);

}  // namespace lmc

#endif  // LMC_MODEL_EVALUATOR_H_
