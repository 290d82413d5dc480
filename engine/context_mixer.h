// The context mixer: the last stage before the range coder. It codes a byte as 8
// binary decisions (most significant bit first) and predicts each from the
// transformer's frequency table (already adjusted by the match model) together
// with adaptive statistics of this chunk: order 1, 2, 3, 4, 6 and 8 contexts, a
// sparse one (the three bytes before the last), the current word, the last two
// words, two of the text's columns (the byte above in the previous line, with
// the last byte and with the column), and two indirect ones (what followed the
// last byte, and the last two bytes, where they occurred before, with the last
// byte), each in hashed buckets of bit
// probabilities that learn as the chunk is coded; and the transformer's own
// probability refined in an order-2 context. Three logistic mixers weigh the
// inputs by how well they have done in this chunk, with weights chosen by the
// partial byte; by the transformer's confidence, the bit's position and the
// word state; and by the match model's length and expected bit. Their outputs
// are averaged (the first counted twice) and two adaptive probability maps
// refine the result. The transformer sees 256 bytes and knows text in general;
// the statistics learn the vocabulary and layout of this particular input. All
// integer and a function of the chunk's bytes alone, so encoder and decoder
// agree exactly. docs/format.md specifies it.
//
//   ContextMixer cm(chunk_tokens);
//   per byte: cm.SetFrequencies(freqs); cm.SetMatch(mm.predicted(), mm.length());
//             per bit, msb first: p = cm.P1(); code(bit, p); cm.Update(bit);
#ifndef LMC_ENGINE_CONTEXT_MIXER_H_
#define LMC_ENGINE_CONTEXT_MIXER_H_

#include <algorithm>
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
  int learning_shift = 10;   // byte mixers' step: input * error / 2^this
  int sample_learning_shift = 11;  // the same for the media sample mixers
  int apm_rate = 6;          // probability maps move 1/2^this toward each bit
  int max_table_bits = 21;   // at most 2^this buckets per chunk
};

class ContextMixer {
 public:
  static constexpr int kByteContexts = 13;          // a byte token's context inputs
  static constexpr int kSampleContexts = 12;        // a media sample token's
  static constexpr int kMaxContexts = std::max(kByteContexts, kSampleContexts);
  // + transformer, its refinement in an order-2 context, bias
  static constexpr int kByteInputs = kByteContexts + 3;
  static constexpr int kInputs = kSampleContexts + 2;  // a sample token's (+ transformer, bias)
  static constexpr int kWeightSets = 256;           // one per partial byte
  // The second byte mixer's: transformer confidence (16) x bit (8) x word state (4).
  static constexpr int kStateWeightSets = 16 * 8 * 4;
  // The third's: match length class (7) x expected bit (none, 0, 1) x bit (8).
  static constexpr int kMatchWeightSets = 7 * 3 * 8;
  static constexpr int kLineColumns = 256;          // columns the line contexts see
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
  // The match model's prediction for the byte just started (before its first
  // P1): the byte (-1: none) and the match's length. Without it, none.
  void SetMatch(int predicted, int length);
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

  // The public constructor's, for a table of 2^table_bits buckets.
  ContextMixer(const MixerParams& params, int table_bits);
  // Appends the byte just coded to the history, then StartByte.
  void EndByte(uint8_t byte);
  // The line contexts' state after `byte`.
  void PushLine(uint8_t byte);
  // The next byte's contexts, from the history.
  void StartByte();
  uint32_t FindBucket(uint32_t hash);
  int SampleP1();
  void UpdateSampleMixers(int bit);

  MixerParams params_;
  int table_shift_;              // 32 - log2(buckets)
  std::vector<uint16_t> slots_;  // buckets of 16: a check, then 15 nibble-tree nodes,
                                 // each p (12 bits) << 4 | count (4 bits)
  std::vector<int32_t> weights_;              // [kWeightSets][kByteInputs], 16.16
  std::vector<int32_t> state_weights_;        // [kStateWeightSets][kByteInputs], 16.16
  std::vector<int32_t> match_weights_;        // [kMatchWeightSets][kByteInputs], 16.16
  int state_set_ = 0, match_set_ = 0;         // the current bit's sets of those
  int dot_ = 0, dot_state_ = 0, dot_match_ = 0;  // the byte mixers' stretched outputs
  int match_byte_ = -1, match_class_ = 0;     // SetMatch's byte, length class 0..6
  Apm apm_order0_, apm_order1_;
  int model_map_shift_;  // 32 - bits of the order-2 hash in apm_model_'s contexts
  Apm apm_model_;  // the transformer's probability in an order-2 context (an input)
  std::unique_ptr<SampleMixing> sample_;
  bool sample_byte_ = false;                  // the current byte is a sample token
  int contexts_ = kByteContexts;              // context inputs of the current byte
  // Cumulative frequency of the symbols below s, from cum_ or the spike.
  uint32_t Cum(int s) const;
  std::array<uint32_t, 257> cum_{};           // cumulative frequencies of this byte
  int spike_ = -1;                            // >= 0: the row is spiked, cum_ unused
  uint32_t spike_f_ = 0, spike_fb_ = 0;
  std::array<uint32_t, kMaxContexts> ctx_hash_{};  // per context, set at byte start
  std::array<uint32_t, kMaxContexts> bucket_{};    // bucket of the current nibble
  std::array<uint32_t, kMaxContexts> slot_{};      // slot of the current bit
  // Stretched inputs of the current bit: the table's, the contexts', (bytes)
  // the table's refined by apm_model_, the bias (kByteInputs of them for a
  // byte token, kInputs for a sample token).
  std::array<int, std::max(kByteInputs, kInputs)> x_{};
  int lo_ = 0, hi_ = 256;  // symbols still possible
  int c0_ = 1;             // 1 followed by the bits coded so far of this byte
  int p_mix_ = 2048;       // the mixer's last prediction
  int p_ = 2048;           // the last prediction
  uint64_t history_ = 0;   // last 8 bytes, most recent in the low byte
  uint32_t word_ = 0;      // hash of the current word, 0 outside words
  uint32_t last_word_ = 0; // hash of the last word that ended, 0 before any
  // The current line's and the previous line's first kLineColumns bytes (a
  // line ends with its '\n', which it includes), and how many of each: the
  // column, which stops at kLineColumns.
  std::array<uint8_t, kLineColumns> line_{}, prev_line_{};
  int column_ = 0, prev_line_len_ = 0;
  // The indirect contexts' tables: per byte value, the last three bytes that
  // followed it (most recent in the low byte); per pair of bytes, the last two.
  std::array<uint32_t, 256> after1_{};
  std::vector<uint16_t> after2_ = std::vector<uint16_t>(65536);
};

}  // namespace lmc

#endif  // LMC_ENGINE_CONTEXT_MIXER_H_
