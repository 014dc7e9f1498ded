// Poseidon2 over BN254 Fr (t = 3) with 4x64-bit Montgomery arithmetic (R = 2^256). Written from the rules of
// shared/spec/slots-and-proofs.md §2; the Swift `Poseidon2.permute` is the reference and fallback.
#include "proofs_kernels.h"

typedef unsigned __int128 u128;

#define P0 0x43e1f593f0000001ULL
#define P1 0x2833e84879b97091ULL
#define P2 0xb85045b68181585dULL
#define P3 0x30644e72e131a029ULL
#define PINV 0xc2e1f593efffffffULL  // -p^-1 mod 2^64

typedef struct {
  uint64_t l[4];
} fe;

// r = a + b mod p (a, b < p < 2^254, so the 256-bit sum cannot overflow).
static inline __attribute__((always_inline)) fe fe_add(fe a, fe b) {
  u128 s;
  uint64_t t0, t1, t2, t3;
  s = (u128)a.l[0] + b.l[0];
  t0 = (uint64_t)s;
  s = (u128)a.l[1] + b.l[1] + (uint64_t)(s >> 64);
  t1 = (uint64_t)s;
  s = (u128)a.l[2] + b.l[2] + (uint64_t)(s >> 64);
  t2 = (uint64_t)s;
  t3 = a.l[3] + b.l[3] + (uint64_t)(s >> 64);
  // d = t - p; keep t if that borrows.
  u128 d;
  uint64_t d0, d1, d2, d3, borrow;
  d = (u128)t0 - P0;
  d0 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t1 - P1 - borrow;
  d1 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t2 - P2 - borrow;
  d2 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t3 - P3 - borrow;
  d3 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  uint64_t keep = 0 - borrow;  // all ones: t < p
  fe r;
  r.l[0] = (t0 & keep) | (d0 & ~keep);
  r.l[1] = (t1 & keep) | (d1 & ~keep);
  r.l[2] = (t2 & keep) | (d2 & ~keep);
  r.l[3] = (t3 & keep) | (d3 & ~keep);
  return r;
}

// Montgomery product a·b·2^-256 mod p (CIOS; p's top limb < 2^62 leaves room for the carries).
static inline __attribute__((always_inline)) fe fe_mul(fe a, fe b) {
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4;
  for (int i = 0; i < 4; i++) {
    uint64_t bi = b.l[i];
    u128 uv;
    uv = (u128)a.l[0] * bi + t0;
    t0 = (uint64_t)uv;
    uv = (u128)a.l[1] * bi + t1 + (uint64_t)(uv >> 64);
    t1 = (uint64_t)uv;
    uv = (u128)a.l[2] * bi + t2 + (uint64_t)(uv >> 64);
    t2 = (uint64_t)uv;
    uv = (u128)a.l[3] * bi + t3 + (uint64_t)(uv >> 64);
    t3 = (uint64_t)uv;
    t4 = (uint64_t)(uv >> 64);
    uint64_t m = t0 * PINV;
    uv = (u128)m * P0 + t0;
    uv = (u128)m * P1 + t1 + (uint64_t)(uv >> 64);
    t0 = (uint64_t)uv;
    uv = (u128)m * P2 + t2 + (uint64_t)(uv >> 64);
    t1 = (uint64_t)uv;
    uv = (u128)m * P3 + t3 + (uint64_t)(uv >> 64);
    t2 = (uint64_t)uv;
    t3 = t4 + (uint64_t)(uv >> 64);
  }
  // Result < 2p: subtract p once if needed.
  fe t = {{t0, t1, t2, t3}};
  u128 d;
  uint64_t d0, d1, d2, d3, borrow;
  d = (u128)t0 - P0;
  d0 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t1 - P1 - borrow;
  d1 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t2 - P2 - borrow;
  d2 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t3 - P3 - borrow;
  d3 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  uint64_t keep = 0 - borrow;
  fe r;
  r.l[0] = (t.l[0] & keep) | (d0 & ~keep);
  r.l[1] = (t.l[1] & keep) | (d1 & ~keep);
  r.l[2] = (t.l[2] & keep) | (d2 & ~keep);
  r.l[3] = (t.l[3] & keep) | (d3 & ~keep);
  return r;
}

static inline __attribute__((always_inline)) fe fe_pow5(fe x) {
  fe x2 = fe_mul(x, x);
  fe x4 = fe_mul(x2, x2);
  return fe_mul(x4, x);
}

static inline __attribute__((always_inline)) fe fe_load(const uint64_t *p) {
  fe r = {{p[0], p[1], p[2], p[3]}};
  return r;
}

#define PERMUTE_BODY                                                  \
  fe a = fe_load(state), b = fe_load(state + 4), c = fe_load(state + 8); \
  fe s = fe_add(fe_add(a, b), c);                                     \
  a = fe_add(a, s);                                                   \
  b = fe_add(b, s);                                                   \
  c = fe_add(c, s);                                                   \
  for (int r = 0; r < 8; r++) {                                       \
    if (r == 4) {                                                     \
      for (int j = 0; j < 56; j++) {                                  \
        a = fe_pow5(fe_add(a, fe_load(internal_ + 4 * j)));           \
        s = fe_add(fe_add(a, b), c);                                  \
        a = fe_add(a, s);                                             \
        b = fe_add(b, s);                                             \
        c = fe_add(fe_add(c, c), s);                                  \
      }                                                               \
    }                                                                 \
    const uint64_t *k = external + 12 * r;                            \
    a = fe_pow5(fe_add(a, fe_load(k)));                               \
    b = fe_pow5(fe_add(b, fe_load(k + 4)));                           \
    c = fe_pow5(fe_add(c, fe_load(k + 8)));                           \
    s = fe_add(fe_add(a, b), c);                                      \
    a = fe_add(a, s);                                                 \
    b = fe_add(b, s);                                                 \
    c = fe_add(c, s);                                                 \
  }                                                                   \
  for (int i = 0; i < 4; i++) {                                       \
    state[i] = a.l[i];                                                \
    state[4 + i] = b.l[i];                                            \
    state[8 + i] = c.l[i];                                            \
  }

static void permute_generic(uint64_t state[12], const uint64_t *external, const uint64_t *internal_) {
  PERMUTE_BODY
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target("bmi2,adx"))) static void permute_bmi2(
  uint64_t state[12], const uint64_t *external, const uint64_t *internal_) {
  PERMUTE_BODY
}

int codex_poseidon2_uses_bmi2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
}

void codex_poseidon2_permute(uint64_t state[12], const uint64_t *external, const uint64_t *internal_) {
  if (__builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx")) {
    permute_bmi2(state, external, internal_);
  } else {
    permute_generic(state, external, internal_);
  }
}
#else
int codex_poseidon2_uses_bmi2(void) { return 0; }

void codex_poseidon2_permute(uint64_t state[12], const uint64_t *external, const uint64_t *internal_) {
  permute_generic(state, external, internal_);
}
#endif
