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

 private:
  friend class BatchEvaluator;
  int64_t pos_ = 0;              // tokens fed so far
  std::vector<uint8_t> keys_;    // [layer] keys, kernels::KvLayout
  std::vector<int8_t> values_;   // [layer] values, kernels::KvLayout
};

struct StreamInput {
  StreamState* state;
  std::span<const int32_t> tokens;  // 0..255, or ModelConfig::kBos
};

class BatchEvaluator {
 public:
  explicit BatchEvaluator(const IntModel& model)
      : m_(model), kv_(model.config().d_model, model.config().n_heads, model.config().window) {}
  BatchEvaluator(const BatchEvaluator&) = delete;
  BatchEvaluator& operator=(const BatchEvaluator&) = delete;

  // Appends nothing: resizes *freqs to rows * 256 (rows = all tokens, inputs in
  // order) and fills it.
  void Evaluate(std::span<const StreamInput> inputs, std::vector<uint16_t>* freqs);

 private:
  void Norm(int rows);
  void Attend(int layer, StreamState& s, int64_t pos, int row);

  const IntModel& m_;
  const kernels::KvLayout kv_;  // how StreamState keeps its keys and values
  // Scratch, reused across calls: one evaluator per thread.
  std::vector<int32_t> x_;     // residual stream [rows][d]
  std::vector<int8_t> z_;      // normalised activations [rows][d]
  std::vector<int32_t> acc_;   // matmul accumulators
  std::vector<int8_t> qkv_;    // [rows][3d]
  std::vector<int8_t> att_;    // attention outputs [rows][d]
  std::vector<int8_t> h_;      // MLP hidden [rows][d_ff]
  std::vector<int8_t> query_;   // one head's query, zero-padded to the key groups
  std::vector<int32_t> dot_, weight_;
  std::vector<int64_t> num_;
  std::vector<int64_t> logits_;
};

// 256 integer logits (score units) -> frequencies >= 1 summing to 2^16, through
// the model's exp table. Exposed for tests.
void FrequenciesFromLogits(const int64_t* logits, const std::vector<int32_t>& exp_table,
                           uint16_t* freqs);

}  // namespace lmc

#endif  // LMC_MODEL_EVALUATOR_H_
