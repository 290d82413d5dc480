// What the AVX-512 kernels of model/ share: the target attribute of the
// functions that use AVX-512 (dispatched at run time by kernels::HasVnni) and
// the masks of a vector's live lanes at a row's tail. Private to model/.
#ifndef LMC_MODEL_INTERNAL_AVX512_H_
#define LMC_MODEL_INTERNAL_AVX512_H_

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own "undefined"
// vectors (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#define LMC_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))

namespace lmc::kernels::internal {

// Lanes i < n - at of an 8-lane (int64) or 16-lane (int32) vector at offset `at`.
inline __mmask8 Live8(int n, int at) {
  return n - at >= 8 ? 0xFF : static_cast<__mmask8>((1u << (n - at)) - 1);
}
inline __mmask16 Live16(int n, int at) {
  return n - at >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - at)) - 1);
}

}  // namespace lmc::kernels::internal

#endif  // LMC_MODEL_INTERNAL_AVX512_H_
