#include "core/range_coder.h"

namespace lmc {
namespace {
constexpr uint32_t kTop = 1u << 24;
}  // namespace

void RangeEncoder::ShiftLow() {
  if (static_cast<uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
    const uint8_t carry = static_cast<uint8_t>(low_ >> 32);
    uint8_t temp = cache_;
    do {
      out_.push_back(static_cast<char>(static_cast<uint8_t>(temp + carry)));
      temp = 0xFF;
    } while (--cache_size_ != 0);
    cache_ = static_cast<uint8_t>(low_ >> 24);
  }
  ++cache_size_;
  low_ = (low_ & 0x00FFFFFFu) << 8;
}

void RangeEncoder::Encode(uint32_t cum, uint32_t freq) {
  const uint32_t r = range_ >> kTotalBits;
  low_ += static_cast<uint64_t>(r) * cum;
  range_ = r * freq;
  while (range_ < kTop) {
    range_ <<= 8;
    ShiftLow();
  }
}

std::string RangeEncoder::Finish() {
  for (int i = 0; i < 5; ++i) ShiftLow();
  return std::move(out_);
}

RangeDecoder::RangeDecoder(std::span<const uint8_t> in) : in_(in) {
  for (int i = 0; i < 5; ++i) code_ = (code_ << 8) | Next();
}

uint32_t RangeDecoder::Target() const {
  const uint32_t v = code_ / (range_ >> kTotalBits);
  return v < kTotal ? v : kTotal - 1;  // only damaged input gets here
}

void RangeDecoder::Consume(uint32_t cum, uint32_t freq) {
  const uint32_t r = range_ >> kTotalBits;
  code_ -= r * cum;
  range_ = r * freq;
  while (range_ < kTop) {
    code_ = (code_ << 8) | Next();
    range_ <<= 8;
  }
}

}  // namespace lmc
