// Hashes used by the frame: SHA-256 for model fingerprints (collision resistant:
// a fingerprint names a model for good) and XXH64 for content checksums (fast,
// detects damage; not a defence against a forger).
#ifndef LMC_CORE_HASHING_H_
#define LMC_CORE_HASHING_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace lmc {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
std::string ToHex(const uint8_t* data, size_t n);
inline std::string ToHex(const Sha256Digest& d) { return ToHex(d.data(), d.size()); }
uint64_t Xxh64(std::string_view data, uint64_t seed = 0);

}  // namespace lmc

#endif  // LMC_CORE_HASHING_H_
