// Range coding of one token out of a large vocabulary (docs/format.md, "Token
// frequency tables"). The range coder's tables total 2^16, too few for 50k-150k
// tokens, so a token is coded in two steps of at most 2^16 each: its page (ids
// 256p .. 256p+255), then its place in the page. Both tables come from the
// model's logits through the exponential table alone, in integers, so encoder
// and decoder build them identically.
//
//   TokenCoder tc(model.exp_table, model.config().exp_table_size);
//   tc.SetLogits(logits);  tc.Encode(token, &enc);   // or token = tc.Decode(&dec)
#ifndef LMC_HF_TOKEN_CODER_H_
#define LMC_HF_TOKEN_CODER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "core/range_coder.h"

namespace lmc::hf {

inline constexpr int kTokenPageBits = 8;
inline constexpr int kTokenPage = 1 << kTokenPageBits;

class TokenCoder {
 public:
  explicit TokenCoder(std::span<const int32_t> exp_table) : exp_(exp_table) {}

  // The distribution for the next token: logits in score units, one per id
  // (at most 2^22 ids).
  void SetLogits(std::span<const int32_t> logits);
  void Encode(uint32_t token, RangeEncoder* enc);
  uint32_t Decode(RangeDecoder* dec);

  // The two tables, for tests: page frequencies (empty with a single page)
  // and the frequencies inside `page`.
  const std::vector<uint32_t>& PageTable() { return page_freq_; }
  const std::vector<uint32_t>& InPageTable(int page);

 private:
  int Pages() const { return static_cast<int>(page_freq_.size()); }

  std::span<const int32_t> exp_;
  std::span<const int32_t> logits_;
  std::vector<int64_t> e_;          // exp weight per token
  std::vector<int64_t> page_sum_;   // per page
  std::vector<uint32_t> page_freq_;
  std::vector<uint32_t> in_page_;
};

}  // namespace lmc::hf

#endif  // LMC_HF_TOKEN_CODER_H_
