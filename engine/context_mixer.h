// The context mixer: the last stage before the range coder. It codes a byte as 8
// binary decisions (most significant bit first) and predicts each from the
// transformer's frequency table (already adjusted by the match model) together
// with adaptive statistics of this chunk: order 1, 2, 3, 4 and 6 contexts and the
// current word, each in hashed buckets of bit probabilities that learn as the
// chunk is coded. A logistic mixer weighs the inputs by how well they have done
// in this chunk, and two adaptive probability maps refine the result. The
// transformer sees 256 bytes and knows text in general; the statistics learn the
// vocabulary of this particular input. All integer and a function of the chunk's
// bytes alone, so encoder and decoder agree exactly. docs/format.md specifies it.
//
//   ContextMixer cm(chunk_tokens);
//   per byte: cm.SetFrequencies(freqs);
//             per bit, msb first: p = cm.P1(); code(bit, p); cm.Update(bit);
#ifndef LMC_ENGINE_CONTEXT_MIXER_H_
#define LMC_ENGINE_CONTEXT_MIXER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/apm.h"

namespace lmc {

// The mixer's tunables. The frame format fixes the defaults; other values are
// for research tools only (frames do not record them).
struct MixerParams {
  int counter_limit = 15;    // a slot's count saturates here (at most 15)
  int learning_shift = 11;   // mixer step: input * error / 2^this
  int apm_rate = 6;          // probability maps move 1/2^this toward each bit
  int max_table_bits = 19;   // at most 2^this buckets per chunk
};

class ContextMixer {
 public:
  static constexpr int kOrders = 6;                 // a byte token's context inputs
  static constexpr int kSampleContexts = 12;        // a media sample token's
  static constexpr int kByteInputs = kOrders + 2;   // + transformer + bias
  static constexpr int kInputs = kSampleContexts + 2;  // a sample token's
  static constexpr int kWeightSets = 256;           // one per partial byte
  static constexpr int kActivities = 32;            // sample tokens: see SetSampleContexts

  explicit ContextMixer(uint64_t chunk_tokens, const MixerParams& params = {});
  // Bytes of memory a chunk of this length takes (with media samples in it,
  // if `samples`).
  static uint64_t MemoryFor(uint64_t chunk_tokens, const MixerParams& params = {},
                            bool samples = false);

  // Starts a byte: `freqs` has 256 entries >= 1 summing to 2^16.
  void SetFrequencies(const uint16_t* freqs);
  // The same for a row that is `f` everywhere but `fb` at `b` (a media
  // sample's flat row after the match model), without the running sum.
  void SetSpikedFrequencies(int b, uint32_t f, uint32_t fb);
  // Makes the byte just started (before its first P1) a media sample token
  // (media/sample_context.h): these kSampleContexts hashes replace the byte
  // contexts, and two mixers weigh the inputs: one with weights chosen by
  // `activity` (< kActivities, also the second probability map's context),
  // one by shape >> 4; `shape` (< 256) is a third probability map's context.
  void SetSampleContexts(const uint32_t* hashes, int activity, int shape);
  // Probability that the next bit is 1, in 1..4095 of 4096.
  int P1();
  // The coded bit; after the 8th, the byte is complete.
  void Update(int bit);

 private:
  // What only chunks with media samples need, made at their first sample.
  struct SampleMixing {
    std::vector<int32_t> weights;  // [kActivities][kWeightSets][kInputs], 16.16
    std::vector<int32_t> shape_weights;  // [16][kWeightSets][kInputs]
    Apm apm;
    int activity = 0, shape = 0;  // of the current byte
    int dot = 0, dot_shape = 0;   // the two mixers' stretched outputs
    // The two mixers' weights for partial byte c0.
    int32_t* ActivityRow(int c0) { return &weights[(activity * kWeightSets + c0) * kInputs]; }
    int32_t* ShapeRow(int c0) { return &shape_weights[((shape >> 4) * kWeightSets + c0) * kInputs]; }
  };

  void EndByte(uint8_t byte);
  uint32_t FindBucket(uint32_t hash);
  int SampleP1();
  void UpdateSampleMixers(int bit);

  MixerParams params_;
  int table_shift_;              // 32 - log2(buckets)
  std::vector<uint16_t> slots_;  // buckets of 16: a check, then 15 nibble-tree nodes,
                                 // each p (12 bits) << 4 | count (4 bits)
  std::vector<int32_t> weights_;              // [kWeightSets][kByteInputs], 16.16
  Apm apm_order0_, apm_order1_;
  std::unique_ptr<SampleMixing> sample_;
  bool sample_byte_ = false;                  // the current byte is a sample token
  int contexts_ = kOrders;                    // context inputs of the current byte
  // Cumulative frequency of the symbols below s, from cum_ or the spike.
  uint32_t Cum(int s) const;
  std::array<uint32_t, 257> cum_{};           // cumulative frequencies of this byte
  int spike_ = -1;                            // >= 0: the row is spiked, cum_ unused
  uint32_t spike_f_ = 0, spike_fb_ = 0;
  std::array<uint32_t, kSampleContexts> ctx_hash_{};  // per context, set at byte start
  std::array<uint32_t, kSampleContexts> bucket_{};    // bucket of the current nibble
  std::array<uint32_t, kSampleContexts> slot_{};      // slot of the current bit
  // Stretched inputs of the current bit: the table's, the contexts', the
  // bias (kByteInputs of them for a byte token, kInputs for a sample token).
  std::array<int, kInputs> x_{};
  int lo_ = 0, hi_ = 256;  // symbols still possible
  int c0_ = 1;             // 1 followed by the bits coded so far of this byte
  int p_mix_ = 2048;       // the mixer's last prediction
  int p_ = 2048;           // the last prediction
  uint64_t history_ = 0;   // last 8 bytes, most recent in the low byte
  uint32_t word_ = 0;      // hash of the current word, 0 outside words
};

}  // namespace lmc

#endif  // LMC_ENGINE_CONTEXT_MIXER_H_
