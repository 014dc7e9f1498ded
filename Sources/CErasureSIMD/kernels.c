// Region kernels for CodexErasure (see include/CErasureSIMD.h). Written for this project.
#include "CErasureSIMD.h"

#include <stdint.h>
#include <string.h>

// MARK: portable

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline void store64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void xor_portable(uint8_t *d, const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i += 8) store64(d + i, load64(d + i) ^ load64(s + i));
}

static inline uint8_t gf8_mul_byte(const uint8_t *m, uint8_t v) { return m[v & 15] ^ m[16 + (v >> 4)]; }

static void gf8_mul_portable(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = gf8_mul_byte(m, s[i]);
}
static void gf8_muladd_portable(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] ^= gf8_mul_byte(m, s[i]);
}
static void gf8_ifft_portable(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t yv = y[i] ^ x[i];
    y[i] = yv;
    x[i] ^= gf8_mul_byte(m, yv);
  }
}
static void gf8_fft_portable(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t xv = x[i] ^ gf8_mul_byte(m, y[i]);
    x[i] = xv;
    y[i] ^= xv;
  }
}

// Multiplies the 64-byte GF(2^16) unit at s into lo[32], hi[32].
static inline void gf16_mul_unit(const uint8_t *m, const uint8_t *s, uint8_t *lo, uint8_t *hi) {
  for (int t = 0; t < 32; t++) {
    uint8_t a = s[t], b = s[32 + t];
    uint8_t n0 = a & 15, n1 = a >> 4, n2 = b & 15, n3 = b >> 4;
    lo[t] = m[n0] ^ m[32 + n1] ^ m[64 + n2] ^ m[96 + n3];
    hi[t] = m[16 + n0] ^ m[48 + n1] ^ m[80 + n2] ^ m[112 + n3];
  }
}
static void gf16_mul_portable(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) {
  uint8_t lo[32], hi[32];
  for (size_t i = 0; i < n; i += 64) {
    gf16_mul_unit(m, s + i, lo, hi);
    memcpy(d + i, lo, 32);
    memcpy(d + i + 32, hi, 32);
  }
}
static void gf16_muladd_portable(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) {
  uint8_t p[64];
  for (size_t i = 0; i < n; i += 64) {
    gf16_mul_unit(m, s + i, p, p + 32);
    xor_portable(d + i, p, 64);
  }
}
static void gf16_ifft_portable(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {
  uint8_t p[64];
  for (size_t i = 0; i < n; i += 64) {
    xor_portable(y + i, x + i, 64);
    gf16_mul_unit(m, y + i, p, p + 32);
    xor_portable(x + i, p, 64);
  }
}
static void gf16_fft_portable(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {
  uint8_t p[64];
  for (size_t i = 0; i < n; i += 64) {
    gf16_mul_unit(m, y + i, p, p + 32);
    xor_portable(x + i, p, 64);
    xor_portable(y + i, x + i, 64);
  }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CER_X86 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))
#define AVX2GFNI __attribute__((target("avx2,gfni")))
#define AVX512GFNI __attribute__((target("avx512f,avx512bw,gfni")))

#define LD(p) _mm256_loadu_si256((const __m256i *)(p))
#define ST(p, v) _mm256_storeu_si256((__m256i *)(p), (v))

AVX2 static void xor_avx2(uint8_t *d, const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i += 64) {
    ST(d + i, _mm256_xor_si256(LD(d + i), LD(s + i)));
    ST(d + i + 32, _mm256_xor_si256(LD(d + i + 32), LD(s + i + 32)));
  }
}

// Contexts: everything the multiply of one 64-byte unit (two 256-bit halves a, b) needs.
typedef struct {
  __m256i lo, hi, mask;
} gf8_shuf_ctx;
AVX2 static inline gf8_shuf_ctx gf8_shuf_init(const uint8_t *m) {
  gf8_shuf_ctx c;
  c.lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)m));
  c.hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(m + 16)));
  c.mask = _mm256_set1_epi8(15);
  return c;
}
AVX2 static inline __m256i gf8_shuf_mul1(const gf8_shuf_ctx *c, __m256i v) {
  __m256i l = _mm256_and_si256(v, c->mask);
  __m256i h = _mm256_and_si256(_mm256_srli_epi64(v, 4), c->mask);
  return _mm256_xor_si256(_mm256_shuffle_epi8(c->lo, l), _mm256_shuffle_epi8(c->hi, h));
}
AVX2 static inline void gf8_shuf_mulu(const gf8_shuf_ctx *c, __m256i *a, __m256i *b) {
  *a = gf8_shuf_mul1(c, *a);
  *b = gf8_shuf_mul1(c, *b);
}

typedef struct {
  __m256i t[8], mask;
} gf16_shuf_ctx;
AVX2 static inline gf16_shuf_ctx gf16_shuf_init(const uint8_t *m) {
  gf16_shuf_ctx c;
  for (int i = 0; i < 8; i++) c.t[i] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(m + 16 * i)));
  c.mask = _mm256_set1_epi8(15);
  return c;
}
AVX2 static inline void gf16_shuf_mulu(const gf16_shuf_ctx *c, __m256i *a, __m256i *b) {
  __m256i n0 = _mm256_and_si256(*a, c->mask);
  __m256i n1 = _mm256_and_si256(_mm256_srli_epi64(*a, 4), c->mask);
  __m256i n2 = _mm256_and_si256(*b, c->mask);
  __m256i n3 = _mm256_and_si256(_mm256_srli_epi64(*b, 4), c->mask);
  __m256i lo = _mm256_xor_si256(_mm256_shuffle_epi8(c->t[0], n0), _mm256_shuffle_epi8(c->t[2], n1));
  __m256i hi = _mm256_xor_si256(_mm256_shuffle_epi8(c->t[1], n0), _mm256_shuffle_epi8(c->t[3], n1));
  lo = _mm256_xor_si256(lo, _mm256_xor_si256(_mm256_shuffle_epi8(c->t[4], n2), _mm256_shuffle_epi8(c->t[6], n3)));
  hi = _mm256_xor_si256(hi, _mm256_xor_si256(_mm256_shuffle_epi8(c->t[5], n2), _mm256_shuffle_epi8(c->t[7], n3)));
  *a = lo;
  *b = hi;
}

typedef struct {
  __m256i a;
} gf8_gfni_ctx;
AVX2GFNI static inline gf8_gfni_ctx gf8_gfni_init(const uint8_t *m) {
  gf8_gfni_ctx c;
  long long q;
  memcpy(&q, m + 32, 8);
  c.a = _mm256_set1_epi64x(q);
  return c;
}
AVX2GFNI static inline void gf8_gfni_mulu(const gf8_gfni_ctx *c, __m256i *a, __m256i *b) {
  *a = _mm256_gf2p8affine_epi64_epi8(*a, c->a, 0);
  *b = _mm256_gf2p8affine_epi64_epi8(*b, c->a, 0);
}

typedef struct {
  __m256i ll, hl, lh, hh;
} gf16_gfni_ctx;
AVX2GFNI static inline gf16_gfni_ctx gf16_gfni_init(const uint8_t *m) {
  gf16_gfni_ctx c;
  long long q[4];
  memcpy(q, m + 128, 32);
  c.ll = _mm256_set1_epi64x(q[0]);
  c.hl = _mm256_set1_epi64x(q[1]);
  c.lh = _mm256_set1_epi64x(q[2]);
  c.hh = _mm256_set1_epi64x(q[3]);
  return c;
}
AVX2GFNI static inline void gf16_gfni_mulu(const gf16_gfni_ctx *c, __m256i *a, __m256i *b) {
  __m256i lo = _mm256_xor_si256(_mm256_gf2p8affine_epi64_epi8(*a, c->ll, 0), _mm256_gf2p8affine_epi64_epi8(*b, c->hl, 0));
  __m256i hi = _mm256_xor_si256(_mm256_gf2p8affine_epi64_epi8(*a, c->lh, 0), _mm256_gf2p8affine_epi64_epi8(*b, c->hh, 0));
  *a = lo;
  *b = hi;
}

// The four region operations, generated for each (field, ISA) pair from its multiply primitive.
#define AVX2_OPS(PFX, ATTR, CTX, INIT, MUL)                                                  \
  ATTR static void PFX##_mul(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) {     \
    CTX c = INIT(m);                                                                         \
    for (size_t i = 0; i < n; i += 64) {                                                     \
      __m256i a = LD(s + i), b = LD(s + i + 32);                                             \
      MUL(&c, &a, &b);                                                                       \
      ST(d + i, a);                                                                          \
      ST(d + i + 32, b);                                                                     \
    }                                                                                        \
  }                                                                                          \
  ATTR static void PFX##_muladd(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) {  \
    CTX c = INIT(m);                                                                         \
    for (size_t i = 0; i < n; i += 64) {                                                     \
      __m256i a = LD(s + i), b = LD(s + i + 32);                                             \
      MUL(&c, &a, &b);                                                                       \
      ST(d + i, _mm256_xor_si256(LD(d + i), a));                                             \
      ST(d + i + 32, _mm256_xor_si256(LD(d + i + 32), b));                                   \
    }                                                                                        \
  }                                                                                          \
  ATTR static void PFX##_ifft(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {          \
    CTX c = INIT(m);                                                                         \
    for (size_t i = 0; i < n; i += 64) {                                                     \
      __m256i xa = LD(x + i), xb = LD(x + i + 32);                                           \
      __m256i ya = _mm256_xor_si256(LD(y + i), xa), yb = _mm256_xor_si256(LD(y + i + 32), xb); \
      ST(y + i, ya);                                                                         \
      ST(y + i + 32, yb);                                                                    \
      MUL(&c, &ya, &yb);                                                                     \
      ST(x + i, _mm256_xor_si256(xa, ya));                                                   \
      ST(x + i + 32, _mm256_xor_si256(xb, yb));                                              \
    }                                                                                        \
  }                                                                                          \
  ATTR static void PFX##_fft(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {           \
    CTX c = INIT(m);                                                                         \
    for (size_t i = 0; i < n; i += 64) {                                                     \
      __m256i ya = LD(y + i), yb = LD(y + i + 32);                                           \
      __m256i pa = ya, pb = yb;                                                              \
      MUL(&c, &pa, &pb);                                                                     \
      __m256i xa = _mm256_xor_si256(LD(x + i), pa), xb = _mm256_xor_si256(LD(x + i + 32), pb); \
      ST(x + i, xa);                                                                         \
      ST(x + i + 32, xb);                                                                    \
      ST(y + i, _mm256_xor_si256(ya, xa));                                                   \
      ST(y + i + 32, _mm256_xor_si256(yb, xb));                                              \
    }                                                                                        \
  }

AVX2_OPS(gf8_shuf, AVX2, gf8_shuf_ctx, gf8_shuf_init, gf8_shuf_mulu)
AVX2_OPS(gf16_shuf, AVX2, gf16_shuf_ctx, gf16_shuf_init, gf16_shuf_mulu)
AVX2_OPS(gf8_gfni, AVX2GFNI, gf8_gfni_ctx, gf8_gfni_init, gf8_gfni_mulu)
AVX2_OPS(gf16_gfni, AVX2GFNI, gf16_gfni_ctx, gf16_gfni_init, gf16_gfni_mulu)

// AVX-512: one 64-byte unit per register. For GF(2^16) a unit is [32 low bytes | 32 high bytes]; with
// A = [low->low | high->high] and B = [low->high | high->low] the product is affine(v, A) ^ swap(affine(v, B)).
#define LD5(p) _mm512_loadu_si512((const void *)(p))
#define ST5(p, v) _mm512_storeu_si512((void *)(p), (v))

typedef struct {
  __m512i a, b;
  int wide;
} z_ctx;
AVX512GFNI static inline z_ctx gf8_z_init(const uint8_t *m) {
  z_ctx c;
  long long q;
  memcpy(&q, m + 32, 8);
  c.a = _mm512_set1_epi64(q);
  c.b = c.a;
  c.wide = 0;
  return c;
}
AVX512GFNI static inline __m512i gf8_z_mulu(const z_ctx *c, __m512i v) { return _mm512_gf2p8affine_epi64_epi8(v, c->a, 0); }
AVX512GFNI static inline z_ctx gf16_z_init(const uint8_t *m) {
  z_ctx c;
  long long q[4];
  memcpy(q, m + 128, 32);
  c.a = _mm512_set_epi64(q[3], q[3], q[3], q[3], q[0], q[0], q[0], q[0]);
  c.b = _mm512_set_epi64(q[1], q[1], q[1], q[1], q[2], q[2], q[2], q[2]);
  c.wide = 1;
  return c;
}
AVX512GFNI static inline __m512i gf16_z_mulu(const z_ctx *c, __m512i v) {
  __m512i p = _mm512_gf2p8affine_epi64_epi8(v, c->a, 0);
  __m512i q = _mm512_gf2p8affine_epi64_epi8(v, c->b, 0);
  return _mm512_xor_si512(p, _mm512_shuffle_i64x2(q, q, 0x4E));
}

#define AVX512_OPS(PFX, INIT, MUL)                                                              \
  AVX512GFNI static void PFX##_mul(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) {   \
    z_ctx c = INIT(m);                                                                          \
    for (size_t i = 0; i < n; i += 64) ST5(d + i, MUL(&c, LD5(s + i)));                         \
  }                                                                                             \
  AVX512GFNI static void PFX##_muladd(uint8_t *d, const uint8_t *s, const uint8_t *m, size_t n) { \
    z_ctx c = INIT(m);                                                                          \
    for (size_t i = 0; i < n; i += 64) ST5(d + i, _mm512_xor_si512(LD5(d + i), MUL(&c, LD5(s + i)))); \
  }                                                                                             \
  AVX512GFNI static void PFX##_ifft(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {       \
    z_ctx c = INIT(m);                                                                          \
    for (size_t i = 0; i < n; i += 64) {                                                        \
      __m512i xv = LD5(x + i);                                                                  \
      __m512i yv = _mm512_xor_si512(LD5(y + i), xv);                                            \
      ST5(y + i, yv);                                                                           \
      ST5(x + i, _mm512_xor_si512(xv, MUL(&c, yv)));                                            \
    }                                                                                           \
  }                                                                                             \
  AVX512GFNI static void PFX##_fft(uint8_t *x, uint8_t *y, const uint8_t *m, size_t n) {        \
    z_ctx c = INIT(m);                                                                          \
    for (size_t i = 0; i < n; i += 64) {                                                        \
      __m512i yv = LD5(y + i);                                                                  \
      __m512i xv = _mm512_xor_si512(LD5(x + i), MUL(&c, yv));                                   \
      ST5(x + i, xv);                                                                           \
      ST5(y + i, _mm512_xor_si512(yv, xv));                                                     \
    }                                                                                           \
  }

AVX512_OPS(gf8_z, gf8_z_init, gf8_z_mulu)
AVX512_OPS(gf16_z, gf16_z_init, gf16_z_mulu)

AVX512GFNI static void xor_avx512(uint8_t *d, const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i += 64) ST5(d + i, _mm512_xor_si512(LD5(d + i), LD5(s + i)));
}
#endif

int cer_detect_isa(void) {
#ifdef CER_X86
  __builtin_cpu_init();
  int avx2 = __builtin_cpu_supports("avx2");
  int gfni = __builtin_cpu_supports("gfni");
  int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (avx2 && gfni && avx512) return 3;
  if (avx2 && gfni) return 2;
  if (avx2) return 1;
#endif
  return 0;
}

void cer_xor(int isa, void *dst, const void *src, size_t n) {
#ifdef CER_X86
  if (isa >= 3) return xor_avx512(dst, src, n);
  if (isa >= 1) return xor_avx2(dst, src, n);
#endif
  xor_portable(dst, src, n);
}

#ifdef CER_X86
#define DISPATCH(FIELD, OP, ...)                              \
  do {                                                        \
    if (isa >= 3) return FIELD##_z_##OP(__VA_ARGS__);         \
    if (isa == 2) return FIELD##_gfni_##OP(__VA_ARGS__);      \
    if (isa == 1) return FIELD##_shuf_##OP(__VA_ARGS__);      \
    return FIELD##_##OP##_portable(__VA_ARGS__);              \
  } while (0)
#else
#define DISPATCH(FIELD, OP, ...) return FIELD##_##OP##_portable(__VA_ARGS__)
#endif

void cer_gf8_mul(int isa, void *d, const void *s, const void *m, size_t n) { DISPATCH(gf8, mul, d, s, m, n); }
void cer_gf8_muladd(int isa, void *d, const void *s, const void *m, size_t n) { DISPATCH(gf8, muladd, d, s, m, n); }
void cer_gf8_ifft(int isa, void *x, void *y, const void *m, size_t n) { DISPATCH(gf8, ifft, x, y, m, n); }
void cer_gf8_fft(int isa, void *x, void *y, const void *m, size_t n) { DISPATCH(gf8, fft, x, y, m, n); }
void cer_gf16_mul(int isa, void *d, const void *s, const void *m, size_t n) { DISPATCH(gf16, mul, d, s, m, n); }
void cer_gf16_muladd(int isa, void *d, const void *s, const void *m, size_t n) { DISPATCH(gf16, muladd, d, s, m, n); }
void cer_gf16_ifft(int isa, void *x, void *y, const void *m, size_t n) { DISPATCH(gf16, ifft, x, y, m, n); }
void cer_gf16_fft(int isa, void *x, void *y, const void *m, size_t n) { DISPATCH(gf16, fft, x, y, m, n); }
