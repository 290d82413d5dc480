// LEB128 varints for media/'s small records (the container, the geometry).
#ifndef LMC_MEDIA_VARINT_H_
#define LMC_MEDIA_VARINT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lmc::media {

inline void PutVarint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}

// Reads one varint from the front of *s and drops it; false if *s ends first
// or the varint is longer than 10 bytes.
inline bool GetVarint(std::string_view* s, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 70 && !s->empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(s->front());
    s->remove_prefix(1);
    if (shift == 63 && b > 1) return false;
    *v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

}  // namespace lmc::media

#endif  // LMC_MEDIA_VARINT_H_
