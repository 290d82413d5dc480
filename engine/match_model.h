// The match model: long-range repetition inside a chunk, which a transformer with
// a short attention window cannot see. It finds the longest recent occurrence of
// the last bytes (hash of 4 bytes, verified), predicts the byte that followed it,
// and moves probability toward that byte by as much as this chunk's own history
// says such predictions deserve (hit counts per match-length and per model-
// confidence bucket). All integer, a function of the chunk's bytes alone, so the
// encoder and decoder agree exactly. docs/format.md specifies it.
//
//   MatchModel mm;
//   for each position: mm.Adjust(freqs); code(byte, freqs); mm.Update(byte);
#ifndef LMC_ENGINE_MATCH_MODEL_H_
#define LMC_ENGINE_MATCH_MODEL_H_

#include <cstdint>
#include <vector>

namespace lmc {

class MatchModel {
 public:
  static constexpr int kMinLen = 4;       // bytes of context a match must share
  static constexpr int kMaxLen = 63;      // lengths are counted up to this
  static constexpr int kHashBits = 18;    // hash table of 2^18 positions
  static constexpr int kLenBuckets = 16;  // min(15, len / 4)
  static constexpr int kConfBuckets = 4;  // model's frequency of the predicted byte
  static constexpr uint32_t kCountLimit = 1023;  // counts halve past this

  MatchModel();

  // Moves probability in `freqs` (256 entries >= 1, total 2^16) toward the byte
  // the current match predicts, if any. Call once per position, before Update.
  // `flat`: every entry is 2^16 / 256 (media samples), which takes one division
  // instead of 255; the result is the same.
  void Adjust(uint16_t* freqs, bool flat = false);
  // The byte the last Adjust predicted, -1 if none (it may have left the row
  // as it was).
  int predicted() const { return predicted_; }
  // The length of the match behind predicted() (0 when there is none).
  int length() const { return predicted_ < 0 ? 0 : len_; }
  // Appends the actual byte.
  void Update(uint8_t byte);
  // Guesses of the next bytes, for speculative decoding: what followed the
  // current match (repeating the guesses themselves where the match runs into
  // the present), one for each of kGuessLens the match's length has reached,
  // at most `max`. Returns how many it wrote. A guess changes nothing here.
  // The lengths: where a guessed row costs about half a one-row step, they
  // decoded fastest in a simulation of the decoder on source code, logs,
  // changelogs and licences. There a first guess proved right 60-80% of the
  // time after a match of 5-7 bytes, 73-90% after 8-11 and 83-96% after 16
  // or more.
  static constexpr int kGuessLens[] = {5, 8, 12};
  int Guess(uint8_t* out, int max) const;

 private:
  std::vector<uint8_t> history_;
  std::vector<int32_t> table_;  // hash of kMinLen bytes -> position after them
  int32_t ptr_ = 0;             // history index of the predicted byte
  int32_t len_ = 0;             // verified match length, 0: no match
  int predicted_ = -1;          // byte predicted at this position, -1: none
  int bucket_ = 0;              // statistics cell of that prediction
  std::vector<uint16_t> hits_, seen_;  // [kLenBuckets * kConfBuckets]
};

}  // namespace lmc

#endif  // LMC_ENGINE_MATCH_MODEL_H_
