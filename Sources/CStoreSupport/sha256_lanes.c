// SHA-256 of up to 16 equal-length messages at once, one message per 32-bit lane of AVX-512 registers (FIPS 180-4
// §6.2, vectorized as written). On a core with both the SHA extensions and AVX-512 this hashes about 1.9x the bytes
// per CPU-second of one-message-at-a-time SHA-NI code: the SHA instructions leave most of the vector units idle.
#include <stddef.h>
#include <stdint.h>
#include "CStoreSupport.h"
#include "sha256_constants.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define LANES_TARGET __attribute__((target("avx512f,avx512bw")))
#define ROR(x, n) _mm512_ror_epi32((x), (n))
#define XOR3(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0x96)
#define CH(e, f, g) _mm512_ternarylogic_epi32((e), (f), (g), 0xCA)  /* e ? f : g */
#define MAJ(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0xE8) /* at least two set */
#define ADD(a, b) _mm512_add_epi32((a), (b))

/// One compression of the 16 lanes' states `s` with their message blocks `w` (the schedule is expanded in place).
LANES_TARGET static inline void compress(__m512i s[8], __m512i w[16]) {
  __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int t = 0; t < 64; t++) {
    __m512i wt;
    if (t < 16) {
      wt = w[t];
    } else {
      __m512i w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
      __m512i sigma0 = XOR3(ROR(w15, 7), ROR(w15, 18), _mm512_srli_epi32(w15, 3));
      __m512i sigma1 = XOR3(ROR(w2, 17), ROR(w2, 19), _mm512_srli_epi32(w2, 10));
      wt = ADD(ADD(w[t & 15], sigma0), ADD(w[(t - 7) & 15], sigma1));
      w[t & 15] = wt;
    }
    __m512i t1 = ADD(ADD(h, XOR3(ROR(e, 6), ROR(e, 11), ROR(e, 25))),
                     ADD(CH(e, f, g), ADD(wt, _mm512_set1_epi32((int)kSHA256Round[t]))));
    __m512i t2 = ADD(XOR3(ROR(a, 2), ROR(a, 13), ROR(a, 22)), MAJ(a, b, c));
    h = g;
    g = f;
    f = e;
    e = ADD(d, t1);
    d = c;
    c = b;
    b = a;
    a = ADD(t1, t2);
  }
  s[0] = ADD(s[0], a);
  s[1] = ADD(s[1], b);
  s[2] = ADD(s[2], c);
  s[3] = ADD(s[3], d);
  s[4] = ADD(s[4], e);
  s[5] = ADD(s[5], f);
  s[6] = ADD(s[6], g);
  s[7] = ADD(s[7], h);
}

LANES_TARGET static void sha256_lanes_rows(const uint8_t *const *messages, size_t length, int count, uint8_t *out) {
  // Lane l reads message l (lanes past `count` re-read message 0; their digests are dropped).
  const uint8_t *rows[16];
  for (int l = 0; l < 16; l++) rows[l] = messages[l < count ? l : 0];
  const __m512i bigEndian = _mm512_broadcast_i32x4(_mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  __m512i s[8], w[16];
  for (int i = 0; i < 8; i++) s[i] = _mm512_set1_epi32((int)kSHA256Initial[i]);
  for (size_t at = 0; at < length; at += 64) {
    __m512i r[16], t[16], u[16];
    // Row l: block `at` of message l, as big-endian words. A 16x16 transpose makes w[j] word j of every lane.
    for (int l = 0; l < 16; l++) r[l] = _mm512_shuffle_epi8(_mm512_loadu_si512(rows[l] + at), bigEndian);
    for (int k = 0; k < 8; k++) {
      t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
      t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; k++) {
      u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
      u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
      u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
      u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    for (int j = 0; j < 4; j++) {
      __m512i abLow = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44);
      __m512i abHigh = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xEE);
      __m512i cdLow = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
      __m512i cdHigh = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xEE);
      w[j] = _mm512_shuffle_i32x4(abLow, cdLow, 0x88);
      w[4 + j] = _mm512_shuffle_i32x4(abLow, cdLow, 0xDD);
      w[8 + j] = _mm512_shuffle_i32x4(abHigh, cdHigh, 0x88);
      w[12 + j] = _mm512_shuffle_i32x4(abHigh, cdHigh, 0xDD);
    }
    compress(s, w);
  }
  // The padding block is the same for every lane: 0x80, zeros, the length in bits (big-endian, 64 bits).
  const uint64_t bits = (uint64_t)length * 8;
  for (int j = 0; j < 16; j++) w[j] = _mm512_setzero_si512();
  w[0] = _mm512_set1_epi32((int)0x80000000u);
  w[14] = _mm512_set1_epi32((int)(uint32_t)(bits >> 32));
  w[15] = _mm512_set1_epi32((int)(uint32_t)bits);
  compress(s, w);
  uint32_t words[8][16];
  for (int i = 0; i < 8; i++) _mm512_storeu_si512(words[i], s[i]);
  for (int l = 0; l < count; l++) {
    for (int i = 0; i < 8; i++) {
      const uint32_t v = words[i][l];
      uint8_t *o = out + 32 * l + 4 * i;
      o[0] = (uint8_t)(v >> 24);
      o[1] = (uint8_t)(v >> 16);
      o[2] = (uint8_t)(v >> 8);
      o[3] = (uint8_t)v;
    }
  }
}

static int lanes_cpu(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

#else

static int lanes_cpu(void) { return 0; }

static void sha256_lanes_rows(const uint8_t *const *messages, size_t length, int count, uint8_t *out) {
  (void)messages; (void)length; (void)count; (void)out;  // never called: lanes_cpu() is 0
}

#endif

int cstore_sha256_lanes_available(void) { return lanes_cpu(); }

int cstore_sha256_lanes_preferred(void) {
#if defined(__OPTIMIZE__)
  return cstore_sha256_lanes_available();
#else
  return 0;  // an unoptimized (debug) build of this file is several times slower than swift-crypto's assembly
#endif
}

int cstore_sha256_lanes_messages(const uint8_t *const *messages, size_t length, int count, uint8_t *out) {
  if (count < 1 || count > 16 || length % 64 != 0 || !lanes_cpu()) return -1;
  sha256_lanes_rows(messages, length, count, out);
  return 0;
}

int cstore_sha256_lanes(const uint8_t *base, size_t stride, size_t length, int count, uint8_t *out) {
  if (count < 1 || count > 16) return -1;
  const uint8_t *rows[16];
  for (int l = 0; l < count; l++) rows[l] = base + (size_t)l * stride;
  return cstore_sha256_lanes_messages(rows, length, count, out);
}
