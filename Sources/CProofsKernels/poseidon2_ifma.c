// Poseidon2 over BN254 Fr (t = 3, x^5, 8 full + 56 partial rounds), eight independent permutations at once with
// AVX-512 IFMA (vpmadd52luq / vpmadd52huq): one permutation per 64-bit lane. Written from the rules of
// shared/spec/slots-and-proofs.md §2; the scalar kernel in poseidon2.c gives the reference results.
//
// Representation: an element is five vectors of 52-bit limbs (limb j of all eight lanes in one vector), value
// x·2^260 mod p (Montgomery form with R' = 2^260), kept only "almost reduced" (below a small multiple of p). At the
// batch boundary the scalar form (x·2^256, four 64-bit limbs) is re-split into 52-bit limbs and multiplied by
// 2^264 mod p (giving x·2^260), and on the way out multiplied by 2^256 mod p (giving x·2^256) and fully reduced.
//
// Bounds (p / 2^260 ≈ 1/84.6). IFMA multiplies only the low 52 bits of its operands, so every multiplication input
// is normalized (each limb < 2^52, value < 2^260). The Montgomery product (no final subtraction) of a, b < 2^260 is
// < a·b/2^260 + p: inputs below X·p give x² < (X²/84.6 + 1)p, and for X ≤ 21 the S-box output x⁵ stays below 1.5p.
// reduce() (quotient estimate from the top limb, q ≤ floor(t / p) ≤ q + 1) maps any t < 2^260 below 2p.
// Full rounds: state < 10p, + constant < 11p -> S-box < 1.5p -> circ(2,1,1) < 6p. Partial rounds reduce b, c below 2p
// every other round (even j), so they stay below 9.5p, the S-box input 2u + b + c + I below 21p, and the sums
// reduced below 37.5p. The last partial round (odd) leaves b, c < 9.5p and a < 7p for the full rounds.
#include "proofs_kernels.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define HAVE_IFMA_PATH 1
#include <immintrin.h>

#include "poseidon2_ifma_constants.h"

#define IFMA_FN static inline __attribute__((always_inline, target("avx512f,avx512ifma")))
#define M52 0xfffffffffffffULL

typedef struct {
  __m512i l[5];
} v5;

IFMA_FN __m512i lo52(__m512i acc, __m512i a, __m512i b) { return _mm512_madd52lo_epu64(acc, a, b); }
IFMA_FN __m512i hi52(__m512i acc, __m512i a, __m512i b) { return _mm512_madd52hi_epu64(acc, a, b); }

IFMA_FN v5 broadcast(const uint64_t k[5]) {
  v5 r;
  for (int j = 0; j < 5; j++) r.l[j] = _mm512_set1_epi64((long long)k[j]);
  return r;
}

// Carries limbs 0...3 into the next limb, leaving each below 2^52 (limb 4 keeps the rest).
IFMA_FN v5 normalize(v5 x) {
  const __m512i mask = _mm512_set1_epi64((long long)M52);
  for (int j = 0; j < 4; j++) {
    x.l[j + 1] = _mm512_add_epi64(x.l[j + 1], _mm512_srli_epi64(x.l[j], 52));
    x.l[j] = _mm512_and_si512(x.l[j], mask);
  }
  return x;
}

// Limb-wise sum (not normalized; limbs stay far below 2^64).
IFMA_FN v5 add(v5 a, v5 b) {
  v5 r;
  for (int j = 0; j < 5; j++) r.l[j] = _mm512_add_epi64(a.l[j], b.l[j]);
  return r;
}

// a·b·2^-260 mod p, below a·b/2^260 + p, normalized. a, b normalized. Operand scanning, one 52-bit digit of b per
// step: t += a·b_i, m = t_0·(-p^-1) mod 2^52, t += m·p (now t_0 ≡ 0 mod 2^52), t >>= 52. Each limb accumulates
// at most 20 terms below 2^52 before it is carried, so the 64-bit lanes never overflow.
IFMA_FN v5 mont_mul(v5 a, v5 b) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i pinv = _mm512_set1_epi64((long long)IFMA_PINV);
  const __m512i p0 = _mm512_set1_epi64((long long)IFMA_P[0]), p1 = _mm512_set1_epi64((long long)IFMA_P[1]),
                p2 = _mm512_set1_epi64((long long)IFMA_P[2]), p3 = _mm512_set1_epi64((long long)IFMA_P[3]),
                p4 = _mm512_set1_epi64((long long)IFMA_P[4]);
  __m512i t0 = zero, t1 = zero, t2 = zero, t3 = zero, t4 = zero, t5;
  for (int i = 0; i < 5; i++) {
    const __m512i bi = b.l[i];
    t0 = lo52(t0, a.l[0], bi);
    const __m512i m = lo52(zero, t0, pinv);
    t1 = lo52(t1, a.l[1], bi);
    t2 = lo52(t2, a.l[2], bi);
    t3 = lo52(t3, a.l[3], bi);
    t4 = lo52(t4, a.l[4], bi);
    t1 = hi52(t1, a.l[0], bi);
    t2 = hi52(t2, a.l[1], bi);
    t3 = hi52(t3, a.l[2], bi);
    t4 = hi52(t4, a.l[3], bi);
    t5 = hi52(zero, a.l[4], bi);
    t0 = lo52(t0, m, p0);
    t1 = lo52(t1, m, p1);
    t2 = lo52(t2, m, p2);
    t3 = lo52(t3, m, p3);
    t4 = lo52(t4, m, p4);
    t1 = hi52(t1, m, p0);
    t2 = hi52(t2, m, p1);
    t3 = hi52(t3, m, p2);
    t4 = hi52(t4, m, p3);
    t5 = hi52(t5, m, p4);
    t0 = _mm512_add_epi64(t1, _mm512_srli_epi64(t0, 52));
    t1 = t2;
    t2 = t3;
    t3 = t4;
    t4 = t5;
  }
  v5 r = {{t0, t1, t2, t3, t4}};
  return normalize(r);
}

// a²·2^-260 mod p with the bound of mont_mul, in fewer multiplications: the full 10-limb square first (the ten cross
// products once, the accumulators doubled, then the five squares), then five Montgomery reduction steps (SOS). Each
// accumulator stays below 2^58.
IFMA_FN v5 mont_sqr(v5 a) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i pinv = _mm512_set1_epi64((long long)IFMA_PINV);
  __m512i p[5];
  for (int j = 0; j < 5; j++) p[j] = _mm512_set1_epi64((long long)IFMA_P[j]);
  __m512i t[10];
  for (int k = 0; k < 10; k++) t[k] = zero;
  for (int i = 0; i < 5; i++) {
    for (int j = i + 1; j < 5; j++) {
      t[i + j] = lo52(t[i + j], a.l[i], a.l[j]);
      t[i + j + 1] = hi52(t[i + j + 1], a.l[i], a.l[j]);
    }
  }
  for (int k = 1; k < 10; k++) t[k] = _mm512_slli_epi64(t[k], 1);
  for (int i = 0; i < 5; i++) {
    t[2 * i] = lo52(t[2 * i], a.l[i], a.l[i]);
    t[2 * i + 1] = hi52(t[2 * i + 1], a.l[i], a.l[i]);
  }
  for (int i = 0; i < 5; i++) {
    const __m512i m = lo52(zero, t[i], pinv);
    for (int j = 0; j < 5; j++) {
      t[i + j] = lo52(t[i + j], m, p[j]);
      t[i + j + 1] = hi52(t[i + j + 1], m, p[j]);
    }
    t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64(t[i], 52));
  }
  v5 r = {{t[5], t[6], t[7], t[8], t[9]}};
  return normalize(r);
}

// Normalized t < 2^260 -> normalized, below 2p: t - q·p computed as t + q·(2^260 - p) mod 2^260, where
// q = floor(t_4·QK / 2^97) ≤ floor(t / p) (so the true difference is non-negative) and q < 128.
IFMA_FN v5 reduce(v5 t) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i q = _mm512_srli_epi64(hi52(zero, t.l[4], _mm512_set1_epi64((long long)IFMA_QK)), 45);
  for (int j = 0; j < 5; j++) {
    const __m512i np = _mm512_set1_epi64((long long)IFMA_NEG_P[j]);
    t.l[j] = lo52(t.l[j], q, np);
    if (j < 4) t.l[j + 1] = hi52(t.l[j + 1], q, np);
  }
  t = normalize(t);
  t.l[4] = _mm512_and_si512(t.l[4], _mm512_set1_epi64((long long)M52));
  return t;
}

// Normalized t < 2p -> [0, p): t + (2^260 - p) reaches 2^260 exactly when t ≥ p.
IFMA_FN v5 reduce_full(v5 t) {
  v5 d = normalize(add(t, broadcast(IFMA_NEG_P)));
  const __mmask8 ge = _mm512_test_epi64_mask(d.l[4], _mm512_set1_epi64((long long)(1ULL << 52)));
  const __m512i mask = _mm512_set1_epi64((long long)M52);
  for (int j = 0; j < 4; j++) t.l[j] = _mm512_mask_blend_epi64(ge, t.l[j], d.l[j]);
  t.l[4] = _mm512_mask_blend_epi64(ge, t.l[4], _mm512_and_si512(d.l[4], mask));
  return t;
}

IFMA_FN v5 sbox(v5 x) {
  v5 x2 = mont_sqr(x);
  v5 x4 = mont_sqr(x2);
  return mont_mul(x4, x);
}

// circ(2, 1, 1): (a, b, c) -> (a + s, b + s, c + s) with s = a + b + c. Inputs < 1.5p -> outputs < 6p, normalized.
IFMA_FN void external_layer(v5 *a, v5 *b, v5 *c) {
  v5 s = add(add(*a, *b), *c);
  *a = normalize(add(*a, s));
  *b = normalize(add(*b, s));
  *c = normalize(add(*c, s));
}

IFMA_FN void full_round(v5 *a, v5 *b, v5 *c, int r) {
  *a = sbox(normalize(add(*a, broadcast(IFMA_EXT_RC[3 * r]))));
  *b = sbox(normalize(add(*b, broadcast(IFMA_EXT_RC[3 * r + 1]))));
  *c = sbox(normalize(add(*c, broadcast(IFMA_EXT_RC[3 * r + 2]))));
  external_layer(a, b, c);
}

// Lane l's element e (scalar Montgomery form, four 64-bit limbs at states[12·l + 4·e]) -> 52-bit limbs, and back.
static inline void split_lanes(const uint64_t *states, int e, uint64_t out[5][8]) {
  for (int l = 0; l < 8; l++) {
    const uint64_t *w = states + 12 * l + 4 * e;
    out[0][l] = w[0] & M52;
    out[1][l] = ((w[0] >> 52) | (w[1] << 12)) & M52;
    out[2][l] = ((w[1] >> 40) | (w[2] << 24)) & M52;
    out[3][l] = ((w[2] >> 28) | (w[3] << 36)) & M52;
    out[4][l] = w[3] >> 16;
  }
}

static inline void join_lanes(const uint64_t in[5][8], int e, uint64_t *states) {
  for (int l = 0; l < 8; l++) {
    uint64_t *w = states + 12 * l + 4 * e;
    w[0] = in[0][l] | (in[1][l] << 52);
    w[1] = (in[1][l] >> 12) | (in[2][l] << 40);
    w[2] = (in[2][l] >> 24) | (in[3][l] << 28);
    w[3] = (in[3][l] >> 36) | (in[4][l] << 16);
  }
}

IFMA_FN v5 load_element(const uint64_t *states, int e) {
  uint64_t buf[5][8] __attribute__((aligned(64)));
  split_lanes(states, e, buf);
  v5 r;
  for (int j = 0; j < 5; j++) r.l[j] = _mm512_load_si512((const void *)buf[j]);
  return mont_mul(r, broadcast(IFMA_TO_R260));  // x·2^256 -> x·2^260, < 1.02p
}

IFMA_FN void store_element(uint64_t *states, int e, v5 x) {
  x = reduce_full(mont_mul(x, broadcast(IFMA_TO_R256)));  // x·2^260 -> x·2^256, < 1.1p -> [0, p)
  uint64_t buf[5][8] __attribute__((aligned(64)));
  for (int j = 0; j < 5; j++) _mm512_store_si512((void *)buf[j], x.l[j]);
  join_lanes(buf, e, states);
}

__attribute__((target("avx512f,avx512ifma"))) static void permute_batch8_ifma(uint64_t states[96]) {
  v5 a = load_element(states, 0), b = load_element(states, 1), c = load_element(states, 2);
  external_layer(&a, &b, &c);
  for (int r = 0; r < 4; r++) full_round(&a, &b, &c, r);
  // Partial round j, u = (a + I[j])⁵: a' = 2u + b + c, b' = u + 2b + c, c' = u + b + 3c. The chain runs through the
  // S-box: the next input a' + I[j+1] = 2u + w with w = b + c + I[j+1] computed while the S-box runs (I[56] = 0).
  v5 x = normalize(add(a, broadcast(IFMA_INT_RC[0])));  // < 7p
  for (int j = 0; j < 56; j++) {
    v5 bc = add(b, c);                           // < 12p in round 0, < 17p in even rounds, < 4p in odd ones
    v5 w = add(bc, broadcast(IFMA_INT_RC[j + 1]));
    v5 u = sbox(x);                              // < 1.5p (x < 21p)
    x = normalize(add(add(u, u), w));            // < 21p
    v5 s = add(u, bc);
    if (j % 2 == 0) {
      b = reduce(normalize(add(s, b)));        // u + 2b + c < 26p -> < 2p
      c = reduce(normalize(add(add(s, c), c)));  // u + b + 3c < 37.5p -> < 2p
    } else {
      // From b, c < 2p: b' < 7.5p, c' < 9.5p, left as limb-wise sums (only added to before the next reduction).
      v5 nb = add(s, b);
      c = add(add(s, c), c);
      b = nb;
    }
  }
  a = x;
  for (int r = 4; r < 8; r++) full_round(&a, &b, &c, r);
  store_element(states, 0, a);
  store_element(states, 1, b);
  store_element(states, 2, c);
}

int codex_poseidon2_has_ifma(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}

int codex_poseidon2_permute_batch8_ifma(uint64_t states[96]) {
  if (!codex_poseidon2_has_ifma()) return 0;
  permute_batch8_ifma(states);
  return 1;
}

#else
#define HAVE_IFMA_PATH 0

int codex_poseidon2_has_ifma(void) { return 0; }

int codex_poseidon2_permute_batch8_ifma(uint64_t states[96]) {
  (void)states;
  return 0;
}
#endif

void codex_poseidon2_permute_batch8(uint64_t states[96]) {
#if HAVE_IFMA_PATH
  if (codex_poseidon2_permute_batch8_ifma(states)) return;
#endif
  for (int l = 0; l < 8; l++) codex_poseidon2_permute(states + 12 * l);
}
