#include "engine/apm.h"

#include <algorithm>

#include "engine/logistic.h"

namespace lmc {

Apm::Apm(int contexts, int rate) : knots_(size_t(contexts) * 33), rate_(rate) {
  for (int c = 0; c < contexts; ++c) {
    for (int j = 0; j < 33; ++j) knots_[c * 33 + j] = static_cast<uint16_t>(Squash((j - 16) * 128) * 16);
  }
}

int Apm::Refine(int p, int ctx) {
  const int s = Stretch(p) + 2048;  // 1..4095
  const int lo = s >> 7, w = s & 127;
  const int base = ctx * 33 + lo;
  index_ = base + (w >> 6);
  const int r = (knots_[base] * (128 - w) + knots_[base + 1] * w) >> 11;
  return std::clamp(r, 1, 4095);
}

void Apm::Update(int bit) {
  const int target = (bit << 16) - bit;  // 0 or 65535
  int k = knots_[index_];
  k += (target - k) >> rate_;
  knots_[index_] = static_cast<uint16_t>(k);
}

}  // namespace lmc
