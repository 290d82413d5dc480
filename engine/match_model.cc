#include "engine/match_model.h"

#include <algorithm>
#include <cstring>

#include "core/range_coder.h"

namespace lmc {
namespace {

uint32_t HashTail(const uint8_t* p) {  // the kMinLen bytes ending before p
  uint64_t v = 0;
  std::memcpy(&v, p - MatchModel::kMinLen, MatchModel::kMinLen);
  return static_cast<uint32_t>((v * 0x9E3779B97F4A7C15ull) >> (64 - MatchModel::kHashBits));
}

int ConfidenceBucket(uint32_t f) {
  if (f < kTotal / 256) return 0;
  if (f < kTotal / 16) return 1;
  if (f < kTotal / 2) return 2;
  return 3;
}

}  // namespace

MatchModel::MatchModel()
    : table_(size_t{1} << kHashBits, -1),
      hits_(kLenBuckets * kConfBuckets, 0),
      seen_(kLenBuckets * kConfBuckets, 0) {}

void MatchModel::Adjust(uint16_t* freqs, bool flat) {
  predicted_ = -1;
  if (len_ == 0) return;
  const int b = history_[ptr_];
  bucket_ = std::min(kLenBuckets - 1, len_ / 4) * kConfBuckets + ConfidenceBucket(freqs[b]);
  predicted_ = b;
  // Krichevsky-Trofimov estimate of this cell's hit rate, in 1/2^16.
  const uint32_t p = static_cast<uint32_t>(
      (2 * uint64_t{hits_[bucket_]} + 1) * kTotal / (2 * uint64_t{seen_[bucket_]} + 2));
  const uint32_t target = std::min<uint32_t>(p, kTotal - 512);
  if (target <= freqs[b] || target < 512) return;
  // Scale the other symbols from (2^16 - f_b) down to (2^16 - target), keeping
  // each >= 1; the predicted byte takes the rest.
  const uint32_t rest_old = kTotal - freqs[b], rest_new = kTotal - target;
  if (flat) {
    const uint32_t f = std::max<uint32_t>(1, uint32_t{freqs[b]} * rest_new / rest_old);
    std::fill(freqs, freqs + 256, static_cast<uint16_t>(f));
    freqs[b] = static_cast<uint16_t>(kTotal - 255 * f);
    return;
  }
  uint32_t others = 0;
  for (int s = 0; s < 256; ++s) {
    if (s == b) continue;
    const uint32_t f = std::max<uint32_t>(1, uint32_t{freqs[s]} * rest_new / rest_old);
    freqs[s] = static_cast<uint16_t>(f);
    others += f;
  }
  freqs[b] = static_cast<uint16_t>(kTotal - others);
}

void MatchModel::Update(uint8_t byte) {
  if (predicted_ >= 0) {
    seen_[bucket_]++;
    hits_[bucket_] += byte == predicted_;
    if (seen_[bucket_] > kCountLimit) {
      seen_[bucket_] /= 2;
      hits_[bucket_] /= 2;
    }
  }
  if (len_ > 0 && byte == predicted_) {
    ++ptr_;
    len_ = std::min(len_ + 1, kMaxLen);
  } else {
    len_ = 0;
  }
  history_.push_back(byte);
  const int32_t n = static_cast<int32_t>(history_.size());
  if (n < kMinLen) return;
  const uint32_t h = HashTail(history_.data() + n);
  const int32_t candidate = table_[h];
  table_[h] = n;
  if (len_ > 0 || candidate < kMinLen) return;
  // Verify the candidate and measure how far back it agrees.
  int32_t l = 0;
  while (l < kMaxLen && candidate - 1 - l >= 0 &&
         history_[candidate - 1 - l] == history_[n - 1 - l]) {
    ++l;
  }
  if (l >= kMinLen) {
    ptr_ = candidate;
    len_ = l;
  }
}

int MatchModel::Guess(uint8_t* out, int max) const {
  int count = 0;
  for (int len : kGuessLens) count += len_ >= len;
  count = std::min(count, max);
  const int32_t n = static_cast<int32_t>(history_.size());
  for (int i = 0; i < count; ++i) {
    const int32_t at = ptr_ + i;
    out[i] = at < n ? history_[at] : out[at - n];
  }
  return count;
}

}  // namespace lmc
