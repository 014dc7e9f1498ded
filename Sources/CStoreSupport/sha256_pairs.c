// SHA-256 (FIPS 180-4) of two equal-length messages at once with the x86 SHA extensions, their instruction streams
// interleaved. One message alone is bound by the latency of the dependent sha256rnds2 chain (about 2.75 cycles per
// two rounds on the AMD EPYC Zen 2 cores this project's machines have, where the instruction can issue every 2); a
// second independent chain fills the issue slots the first leaves idle: 2,220 vs 1,625 MB/s per core for 64 KiB
// blocks. Written from the instructions'
// definitions (Intel SDM, "SHA256RNDS2", "SHA256MSG1", "SHA256MSG2").
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <string.h>
#include "CStoreSupport.h"
#include "sha256_constants.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define PAIRS_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/// A message's running state as the SHA instructions hold it: `abef` = lanes (F, E, B, A) from lane 0 up and
/// `cdgh` = (H, G, D, C).
typedef struct {
  __m128i abef, cdgh;
} PairState;

PAIRS_TARGET static inline PairState initial_state(void) {
  // Lane 0 first: (F, E, B, A) and (H, G, D, C) of the initial hash value H(0) = (A, ..., H).
  const uint32_t *h = kSHA256Initial;
  PairState s;
  s.abef = _mm_setr_epi32((int)h[5], (int)h[4], (int)h[1], (int)h[0]);
  s.cdgh = _mm_setr_epi32((int)h[7], (int)h[6], (int)h[3], (int)h[2]);
  return s;
}

/// Four rounds: `w` holds message words 4g...4g+3 (lane 0 first).
#define FOUR_ROUNDS(s, w, g)                                                                 \
  do {                                                                                       \
    __m128i wk = _mm_add_epi32((w), _mm_load_si128((const __m128i *)(kSHA256Round + 4 * (g)))); \
    (s).cdgh = _mm_sha256rnds2_epu32((s).cdgh, (s).abef, wk);                                \
    (s).abef = _mm_sha256rnds2_epu32((s).abef, (s).cdgh, _mm_shuffle_epi32(wk, 0x0E));       \
  } while (0)

/// The next four schedule words from the last sixteen (`w0` oldest): W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) +
/// W[t-16], with sha256msg1 adding σ0 and sha256msg2 the σ1 terms (which depend on the words being made).
#define NEXT_WORDS(w0, w1, w2, w3) \
  _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3))

/// Compresses one 64-byte block into each of the two states, the two computations interleaved.
PAIRS_TARGET static inline void compress_pair(PairState *x, PairState *y, const uint8_t *bx, const uint8_t *by) {
  const __m128i bigEndian = _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  const PairState sx = *x, sy = *y;
  __m128i xw[4], yw[4];
  for (int k = 0; k < 4; k++) {
    xw[k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(bx + 16 * k)), bigEndian);
    yw[k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(by + 16 * k)), bigEndian);
  }
  for (int g = 0; g < 16; g++) {
    // Ring of the last sixteen words: xw[g % 4] holds words 4g...4g+3 once made.
    if (g >= 4) {
      xw[g & 3] = NEXT_WORDS(xw[g & 3], xw[(g + 1) & 3], xw[(g + 2) & 3], xw[(g + 3) & 3]);
      yw[g & 3] = NEXT_WORDS(yw[g & 3], yw[(g + 1) & 3], yw[(g + 2) & 3], yw[(g + 3) & 3]);
    }
    FOUR_ROUNDS(*x, xw[g & 3], g);
    FOUR_ROUNDS(*y, yw[g & 3], g);
  }
  x->abef = _mm_add_epi32(x->abef, sx.abef);
  x->cdgh = _mm_add_epi32(x->cdgh, sx.cdgh);
  y->abef = _mm_add_epi32(y->abef, sy.abef);
  y->cdgh = _mm_add_epi32(y->cdgh, sy.cdgh);
}

/// Writes the digest (A...H, big-endian) of a final state.
PAIRS_TARGET static inline void store_digest(PairState s, uint8_t *out) {
  uint32_t abef[4], cdgh[4];
  _mm_storeu_si128((__m128i *)abef, s.abef);
  _mm_storeu_si128((__m128i *)cdgh, s.cdgh);
  const uint32_t words[8] = {abef[3], abef[2], cdgh[3], cdgh[2], abef[1], abef[0], cdgh[1], cdgh[0]};
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(words[i] >> 24);
    out[4 * i + 1] = (uint8_t)(words[i] >> 16);
    out[4 * i + 2] = (uint8_t)(words[i] >> 8);
    out[4 * i + 3] = (uint8_t)words[i];
  }
}

/// The one or two padded final blocks of a `length`-byte message whose last `length % 64` bytes start at `rest`.
/// Returns how many blocks `tail` holds.
static inline int final_blocks(const uint8_t *rest, size_t length, uint8_t tail[128]) {
  const size_t r = length % 64;
  memset(tail, 0, 128);
  if (r > 0) memcpy(tail, rest, r);
  tail[r] = 0x80;
  const int blocks = r < 56 ? 1 : 2;
  const uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++) tail[64 * blocks - 1 - i] = (uint8_t)(bits >> (8 * i));
  return blocks;
}

PAIRS_TARGET static void hash_pair(const uint8_t *a, const uint8_t *b, size_t length, uint8_t *outA, uint8_t *outB) {
  PairState x = initial_state(), y = initial_state();
  const size_t whole = length - length % 64;
  for (size_t at = 0; at < whole; at += 64) compress_pair(&x, &y, a + at, b + at);
  uint8_t tailA[128], tailB[128];
  const int blocks = final_blocks(a + whole, length, tailA);
  final_blocks(b + whole, length, tailB);
  for (int k = 0; k < blocks; k++) compress_pair(&x, &y, tailA + 64 * k, tailB + 64 * k);
  store_digest(x, outA);
  store_digest(y, outB);
}

static int pairs_cpu(void) {
  __builtin_cpu_init();
  // The SHA extensions have no __builtin_cpu_supports name in every compiler: CPUID leaf 7, EBX bit 29.
  unsigned int eax, ebx, ecx, edx;
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
  const int sha = (ebx >> 29) & 1;
  return sha && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
}

#else

static int pairs_cpu(void) { return 0; }

static void hash_pair(const uint8_t *a, const uint8_t *b, size_t length, uint8_t *outA, uint8_t *outB) {
  (void)a; (void)b; (void)length; (void)outA; (void)outB;  // never called: pairs_cpu() is 0
}

#endif

int cstore_sha256_pairs_available(void) {
  // CPUID traps to the hypervisor on a VM (microseconds): asked once. Threads racing here all store the same value.
  static _Atomic int cached = -1;
  int value = atomic_load_explicit(&cached, memory_order_relaxed);
  if (value < 0) {
    value = pairs_cpu();
    atomic_store_explicit(&cached, value, memory_order_relaxed);
  }
  return value;
}

int cstore_sha256_pairs_preferred(void) {
#if defined(__OPTIMIZE__)
  return cstore_sha256_pairs_available();
#else
  return 0;  // an unoptimized (debug) build of this file is slower than swift-crypto's assembly
#endif
}

int cstore_sha256_pair(const uint8_t *a, const uint8_t *b, size_t length, uint8_t *outA, uint8_t *outB) {
  if (!cstore_sha256_pairs_available()) return -1;
  hash_pair(a, b, length, outA, outB);
  return 0;
}
