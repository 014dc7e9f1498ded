// CErasureSIMD: region kernels for the Leopard-compatible Reed-Solomon codec in CodexErasure.
//
// Every kernel works on `n` bytes, where `n` is a multiple of 64. A "multiplier" describes multiplication by
// one field constant, which is a GF(2)-linear map on the element bits; the Swift side builds it:
//   GF(2^8)  record (64 bytes): [0,16) products of the low nibble, [16,32) products of the high nibble,
//            [32,40) the 8x8 bit matrix of the map in GF2P8AFFINEQB layout (row for output bit i in byte 7-i).
//   GF(2^16) record (192 bytes): for input nibble k = 0..3 (bits 4k..4k+3 of the element), [32k, 32k+16) low
//            output bytes and [32k+16, 32k+32) high output bytes; then four 8x8 matrices at 128:
//            low->low, high->low, low->high, high->high.
// GF(2^16) elements are laid out in 64-byte units: 32 low bytes followed by the 32 matching high bytes.
// `isa` selects the implementation: 0 portable C, 1 AVX2 (PSHUFB), 2 AVX2 + GFNI, 3 AVX-512BW + GFNI.
// Higher levels fall back to lower ones when not compiled in. Callers must pass a level that cer_detect_isa()
// allows.
#ifndef CERASURESIMD_H
#define CERASURESIMD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Highest ISA level usable on this CPU (0 ... 3).
int cer_detect_isa(void);

/// dst ^= src
void cer_xor(int isa, void *dst, const void *src, size_t n);

/// dst = src * c
void cer_gf8_mul(int isa, void *dst, const void *src, const void *mult, size_t n);
/// dst ^= src * c
void cer_gf8_muladd(int isa, void *dst, const void *src, const void *mult, size_t n);
/// y ^= x; x ^= y * c   (inverse-FFT butterfly)
void cer_gf8_ifft(int isa, void *x, void *y, const void *mult, size_t n);
/// x ^= y * c; y ^= x   (FFT butterfly)
void cer_gf8_fft(int isa, void *x, void *y, const void *mult, size_t n);

void cer_gf16_mul(int isa, void *dst, const void *src, const void *mult, size_t n);
void cer_gf16_muladd(int isa, void *dst, const void *src, const void *mult, size_t n);
void cer_gf16_ifft(int isa, void *x, void *y, const void *mult, size_t n);
void cer_gf16_fft(int isa, void *x, void *y, const void *mult, size_t n);

#ifdef __cplusplus
}
#endif

#endif
