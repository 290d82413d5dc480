// A 32-bit range coder (the LZMA construction: 64-bit low with carry propagation
// through a cached byte) over integer frequency tables whose total is exactly
// 2^kTotalBits. Encoding a symbol of frequency f costs about -log2(f / 2^16) bits.
//
// The decoder never reads outside its input (bytes past the end read as 0) and
// never fails: damaged input decodes to some symbols, which the frame's checksum
// then rejects. BytesRead() lets the caller check that a chunk was consumed exactly.
//
//   RangeEncoder enc;
//   enc.Encode(cum[s], freq[s]);  ...  std::string out = enc.Finish();
//   RangeDecoder dec(out);
//   uint32_t v = dec.Target();  s = symbol with cum[s] <= v < cum[s] + freq[s];
//   dec.Consume(cum[s], freq[s]);
#ifndef LMC_CORE_RANGE_CODER_H_
#define LMC_CORE_RANGE_CODER_H_

#include <cstdint>
#include <span>
#include <string>

namespace lmc {

inline constexpr int kTotalBits = 16;
inline constexpr uint32_t kTotal = 1u << kTotalBits;

class RangeEncoder {
 public:
  // Requires freq >= 1 and cum + freq <= kTotal.
  void Encode(uint32_t cum, uint32_t freq);
  // Flushes and returns the coded bytes; the encoder is spent afterwards.
  std::string Finish();

 private:
  void ShiftLow();
  uint64_t low_ = 0;            // low end of the interval, bit 32 is the carry
  uint32_t range_ = 0xFFFFFFFFu;
  uint8_t cache_ = 0;           // last byte not yet written (a carry may change it)
  uint64_t cache_size_ = 1;     // cache_ plus this many-1 0xFF bytes are pending
  std::string out_;
};

class RangeDecoder {
 public:
  explicit RangeDecoder(std::span<const uint8_t> in);
  // The value in [0, kTotal) that selects the next symbol.
  uint32_t Target() const;
  void Consume(uint32_t cum, uint32_t freq);
  size_t BytesRead() const { return pos_; }

 private:
  uint8_t Next() { return pos_ < in_.size() ? in_[pos_++] : (pos_++, 0); }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  uint32_t code_ = 0;
};

}  // namespace lmc

#endif  // LMC_CORE_RANGE_CODER_H_
