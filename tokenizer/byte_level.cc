#include "tokenizer/byte_level.h"

#include <array>

namespace lmc::tokenizer {
namespace {

bool PrintsAsItself(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Alphabet {
  std::array<uint32_t, 256> code{};
  std::array<int16_t, 324> byte{};  // code point -> byte, -1 if none
  Alphabet() {
    byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      code[b] = PrintsAsItself(b) ? b : next++;
      byte[code[b]] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& TheAlphabet() {
  static const Alphabet a;
  return a;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else {  // the alphabet stops at U+0143: two bytes
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

uint32_t ByteToCodePoint(uint8_t b) { return TheAlphabet().code[b]; }

void AppendByteLevel(std::string_view bytes, std::string* out) {
  const Alphabet& a = TheAlphabet();
  for (char c : bytes) AppendUtf8(a.code[static_cast<uint8_t>(c)], out);
}

bool ByteLevelToBytes(std::string_view s, std::string* out) {
  const Alphabet& a = TheAlphabet();
  out->clear();
  while (!s.empty()) {
    uint32_t cp;
    const int n = Utf8Sequence(s, &cp);
    if (n == 0 || cp >= a.byte.size() || a.byte[cp] < 0) return false;
    out->push_back(static_cast<char>(a.byte[cp]));
    s.remove_prefix(n);
  }
  return true;
}

int Utf8Sequence(std::string_view s, uint32_t* cp) {
  if (s.empty()) return 0;
  const auto at = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = at(0);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  int n;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, min = 0x80, *cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, min = 0x800, *cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < static_cast<size_t>(n)) return 0;
  for (int i = 1; i < n; ++i) {
    if ((at(i) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (at(i) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace lmc::tokenizer
