#include "engine/apm.h"

#include <algorithm>
#include <array>

#include "engine/logistic.h"

namespace lmc {

Apm::Apm(int contexts, int rate) : knots_(size_t(contexts) * 33), rate_(rate) {
  // Every context starts as the identity: one row, computed once and copied
  // (a chunk makes 65,536-context maps, and small messages make many chunks).
  std::array<uint16_t, 33> row;
  for (int j = 0; j < 33; ++j) row[j] = static_cast<uint16_t>(Squash((j - 16) * 128) * 16);
  for (size_t c = 0; c < knots_.size(); c += 33) std::copy(row.begin(), row.end(), &knots_[c]);
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
