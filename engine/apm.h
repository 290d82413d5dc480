// An adaptive probability map (secondary estimation): refines a probability
// given a small context, by learning, per context, a piecewise-linear map from
// the stretched input probability (33 knots) to the observed frequency of ones.
// Integer and deterministic; docs/format.md specifies it.
#ifndef LMC_ENGINE_APM_H_
#define LMC_ENGINE_APM_H_

#include <cstdint>
#include <vector>

namespace lmc {

class Apm {
 public:
  // `contexts` maps of 33 knots each, all starting as the identity; `rate`: a
  // knot moves 1/2^rate of the way toward each outcome.
  Apm(int contexts, int rate);
  // Refined probability (1..4095 of 4096) of p (1..4095) in context ctx.
  int Refine(int p, int ctx);
  // The outcome of the last Refine.
  void Update(int bit);

 private:
  std::vector<uint16_t> knots_;  // 16-bit probabilities
  int rate_;
  int index_ = 0;  // knot nearest to the last input
};

}  // namespace lmc

#endif  // LMC_ENGINE_APM_H_
