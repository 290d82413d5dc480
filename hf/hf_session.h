// The exact integer forward pass of a converted model (hf/hf_int_model.h), one
// position at a time per chunk with a key/value cache: feed a token, get the
// logits of the next one in score units. Several chunks step together in
// FeedBatch, which turns their matrix-vector products into matrix-matrix ones
// (each weight read once per step, not once per chunk). Pure integer
// arithmetic on the file's values, so the logits are the same on every
// machine, thread count and batch arrangement; docs/pretrained.md ("The
// converted model") gives the arithmetic step by step.
//
//   HfSession s(model);
//   s.Feed(bos, &logits);  // logits[v] for the token at position 1
#ifndef LMC_HF_HF_SESSION_H_
#define LMC_HF_HF_SESSION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "hf/hf_int_model.h"

namespace lmc::hf {

class HfSession {
 public:
  // Room for `positions` tokens (at most the context; 0: the whole context).
  explicit HfSession(const HfIntModel& model, int positions = 0);

  // Bytes of key/value cache a session with room for `positions` holds.
  static size_t CacheBytes(const HfIntConfig& c, int positions);

  // Feeds `token` (< vocab_size) at position position(); requires position() <
  // its room. Writes vocab_size logits, clamped to +-2^30.
  void Feed(uint32_t token, std::vector<int32_t>* logits);
  int position() const { return pos_; }

  // Feeds tokens[i] to sessions[i] (all of one model) and writes its
  // vocab_size logits to logits[i]: the same logits as Feed, one token at a
  // time. A session may take several adjacent rows, its next tokens in order
  // (a compressor knows them all); each must stay within the session's room.
  static void FeedBatch(std::span<HfSession* const> sessions, std::span<const uint32_t> tokens,
                        std::span<int32_t* const> logits);

 private:
  // Attention of this session's position for one layer: q, k, v int8 rows in,
  // the heads' outputs (int8, q width) out.
  void Attend(const HfIntLayer& l, int layer, int pos, const int8_t* q8, const int8_t* k8,
              const int8_t* v8, int8_t* out);

  const HfIntModel& m_;
  const HfIntConfig& c_;
  int pos_ = 0;
  // Per layer [room][kv width]: keys (rotated) and values. Left uninitialised:
  // only positions already fed are read, and zeroing megabytes per chunk cost
  // a tenth of the compression time.
  std::vector<std::unique_ptr<int32_t[]>> k_;
  std::vector<std::unique_ptr<int8_t[]>> v_;
  std::vector<int32_t> q_, scores_;           // scratch
  std::vector<int64_t> acc_;
};

}  // namespace lmc::hf

#endif  // LMC_HF_HF_SESSION_H_
