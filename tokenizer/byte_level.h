// The byte-level alphabet of GPT-2-style BPE vocabularies: each of the 256 byte
// values is spelled as one printable Unicode character (bytes 0x21..0x7E,
// 0xA1..0xAC and 0xAE..0xFF as themselves, the other 68 as U+0100.. in byte
// order), so that a vocabulary of strings covers arbitrary bytes.
//
//   std::string raw;
//   bool ok = ByteLevelToBytes("Ġhello", &raw);  // raw == " hello"
#ifndef LMC_TOKENIZER_BYTE_LEVEL_H_
#define LMC_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lmc::tokenizer {

// The code point that spells byte b.
uint32_t ByteToCodePoint(uint8_t b);

// Appends the UTF-8 spelling of `bytes` in the byte-level alphabet.
void AppendByteLevel(std::string_view bytes, std::string* out);

// The bytes a byte-level string spells; false (and *out unspecified) if it is
// not valid UTF-8 or holds a character outside the alphabet.
bool ByteLevelToBytes(std::string_view spelled, std::string* out);

// Length of the valid UTF-8 sequence at the front of s (1..4), or 0 if s does
// not start with one (overlong forms, surrogates and code points past U+10FFFF
// are invalid, as in Unicode's definition). *cp receives the code point.
int Utf8Sequence(std::string_view s, uint32_t* cp);

}  // namespace lmc::tokenizer

#endif  // LMC_TOKENIZER_BYTE_LEVEL_H_
