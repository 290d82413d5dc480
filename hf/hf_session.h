// The exact integer forward pass of a converted model (hf/hf_int_model.h), one
// position at a time with a key/value cache: feed a token, get the logits of the
// next one in score units. Pure integer arithmetic on the file's values, so the
// logits are the same on every machine, thread count and batch arrangement;
// docs/pretrained.md ("The converted model") gives the arithmetic step by step.
//
//   HfSession s(model);
//   s.Feed(bos, &logits);  // logits[v] for the token at position 1
#ifndef LMC_HF_HF_SESSION_H_
#define LMC_HF_HF_SESSION_H_

#include <cstdint>
#include <vector>

#include "hf/hf_int_model.h"

namespace lmc::hf {

class HfSession {
 public:
  explicit HfSession(const HfIntModel& model);

  // Feeds `token` (< vocab_size) at position position(); requires position() <
  // context. Writes vocab_size logits, clamped to +-2^30.
  void Feed(uint32_t token, std::vector<int32_t>* logits);
  int position() const { return pos_; }

 private:
  void Norm(const IntNorm& n, int8_t* z) const;
  void Attention(const HfIntLayer& l, int layer);
  void Mlp(const HfIntLayer& l);

  const HfIntModel& m_;
  const HfIntConfig& c_;
  int pos_ = 0;
  std::vector<int32_t> x_;                    // residual stream [d]
  std::vector<std::vector<int32_t>> k_;       // per layer [context][kv width], rotated
  std::vector<std::vector<int8_t>> v_;        // per layer [context][kv width]
  // Scratch.
  std::vector<int8_t> z_, q8_, k8_, v8_, att_, a8_, g8_;
  std::vector<int32_t> acc_, q_, scores_;
  std::vector<int64_t> e_;
};

}  // namespace lmc::hf

#endif  // LMC_HF_HF_SESSION_H_
