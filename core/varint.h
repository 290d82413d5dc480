// Unsigned LEB128 varints, the one integer encoding of lmc's frames and records
// (docs/format.md): 7 bits per byte, least significant group first, high bit set
// on every byte but the last, at most 10 bytes, no redundant trailing zero group.
#ifndef LMC_CORE_VARINT_H_
#define LMC_CORE_VARINT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lmc {

inline void PutVarint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}

// Reads one canonical varint from the front of *s and drops it. False when *s
// ends first (then *ended is set, if given) or the encoding is over-long or
// exceeds 64 bits; *s is then unspecified.
inline bool GetVarint(std::string_view* s, uint64_t* v, bool* ended = nullptr) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (s->empty()) {
      if (ended != nullptr) *ended = true;
      return false;
    }
    const uint8_t b = static_cast<uint8_t>(s->front());
    s->remove_prefix(1);
    if (shift == 63 && b > 1) return false;
    *v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return b != 0 || shift == 0;
  }
  return false;
}

}  // namespace lmc

#endif  // LMC_CORE_VARINT_H_
