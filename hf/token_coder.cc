#include "hf/token_coder.h"

#include <algorithm>

namespace lmc::hf {
namespace {

// No entry above this: every coded step then costs at least -log2(1 - 2^-9) =
// 0.002819 bits, so a token does too, and a frame's token count stays bounded
// by its size (docs/format.md, validation rule 5).
constexpr int64_t kMaxFreq = int64_t{kTotal} - 128;

// F[i] = 1 + floor(w[i] * (2^16 - n) / W) for the n weights, W their sum; the
// rest of 2^16 goes to entry `a`. W = 0 gives every entry 1 before the rest.
// Then, if F[a] > kMaxFreq, the excess E goes back to the others: each gets
// floor(E / (n - 1)), and the first E mod (n - 1) of them in id order one more.
void Quantise(std::span<const int64_t> w, size_t a, std::vector<uint32_t>* f) {
  const int64_t n = static_cast<int64_t>(w.size());
  int64_t total = 0;
  for (int64_t x : w) total += x;
  f->resize(n);
  int64_t used = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = 1 + (total > 0 ? w[i] * (int64_t{kTotal} - n) / total : 0);
    (*f)[i] = static_cast<uint32_t>(v);
    used += v;
  }
  (*f)[a] += static_cast<uint32_t>(int64_t{kTotal} - used);
  if (n > 1 && (*f)[a] > kMaxFreq) {
    const int64_t excess = (*f)[a] - kMaxFreq, each = excess / (n - 1);
    int64_t extra = excess % (n - 1);
    (*f)[a] = static_cast<uint32_t>(kMaxFreq);
    for (int64_t i = 0; i < n; ++i) {
      if (static_cast<size_t>(i) == a) continue;
      (*f)[i] += static_cast<uint32_t>(each + (extra > 0 ? 1 : 0));
      if (extra > 0) --extra;
    }
  }
}

// The first index of the largest logit in [begin, end).
size_t ArgMax(std::span<const int32_t> logits, size_t begin, size_t end) {
  return static_cast<size_t>(std::max_element(logits.begin() + begin, logits.begin() + end) -
                             logits.begin());
}

uint32_t FindSymbol(const std::vector<uint32_t>& f, uint32_t target, uint32_t* cum) {
  uint32_t c = 0;
  size_t s = 0;
  while (s + 1 < f.size() && c + f[s] <= target) c += f[s++];
  *cum = c;
  return static_cast<uint32_t>(s);
}

uint32_t Cum(const std::vector<uint32_t>& f, uint32_t s) {
  uint32_t c = 0;
  for (uint32_t i = 0; i < s; ++i) c += f[i];
  return c;
}

}  // namespace

void TokenCoder::SetLogits(std::span<const int32_t> logits) {
  logits_ = logits;
  const size_t v = logits.size();
  const int32_t mx = *std::max_element(logits.begin(), logits.end());
  e_.resize(v);
  const int pages = static_cast<int>((v + kTokenPage - 1) / kTokenPage);
  page_sum_.assign(pages, 0);
  for (size_t i = 0; i < v; ++i) {
    const int64_t idx = int64_t{mx} - logits[i];
    e_[i] = idx < static_cast<int64_t>(exp_.size()) ? exp_[idx] : 0;
    page_sum_[i >> kTokenPageBits] += e_[i];
  }
  page_freq_.clear();
  if (pages > 1) Quantise(page_sum_, ArgMax(logits, 0, v) >> kTokenPageBits, &page_freq_);
}

const std::vector<uint32_t>& TokenCoder::InPageTable(int page) {
  const size_t begin = static_cast<size_t>(page) << kTokenPageBits;
  const size_t end = std::min(logits_.size(), begin + kTokenPage);
  Quantise(std::span<const int64_t>(e_).subspan(begin, end - begin),
           ArgMax(logits_, begin, end) - begin, &in_page_);
  return in_page_;
}

void TokenCoder::Encode(uint32_t token, RangeEncoder* enc) {
  const uint32_t page = token >> kTokenPageBits, place = token & (kTokenPage - 1);
  if (Pages() > 1) enc->Encode(Cum(page_freq_, page), page_freq_[page]);
  const std::vector<uint32_t>& f = InPageTable(static_cast<int>(page));
  if (f.size() > 1) enc->Encode(Cum(f, place), f[place]);
}

uint32_t TokenCoder::Decode(RangeDecoder* dec) {
  uint32_t page = 0, place = 0, cum = 0;
  if (Pages() > 1) {
    page = FindSymbol(page_freq_, dec->Target(), &cum);
    dec->Consume(cum, page_freq_[page]);
  }
  const std::vector<uint32_t>& f = InPageTable(static_cast<int>(page));
  if (f.size() > 1) {
    place = FindSymbol(f, dec->Target(), &cum);
    dec->Consume(cum, f[place]);
  }
  return (page << kTokenPageBits) | place;
}

}  // namespace lmc::hf
