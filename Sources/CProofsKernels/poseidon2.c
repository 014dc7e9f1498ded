// Poseidon2 over BN254 Fr (t = 3, x^5, 8 full + 56 partial rounds) with 4x64-bit Montgomery arithmetic (R = 2^256).
// Written from the rules of shared/spec/slots-and-proofs.md §2; the Swift `Poseidon2.permuteSwift` is the reference.
//
// Two builds of one permutation body: a portable one (unsigned __int128) and, on x86-64 CPUs with BMI2 and ADX, one
// whose Montgomery multiplication is hand-written mulx/adcx/adox assembly (two carry chains). On the Zen 4 cores we
// measured, one permutation already fills the multiplier and the carry-chain ports (two permutations interleaved
// gain only ~2%), so the body does as few operations as the bounds below allow: no final subtraction in products,
// lazy ("almost") reductions by a top-limb quotient estimate, cmov selects, and only 2u + w between the S-boxes of
// consecutive partial rounds.
//
// Bounds (ρ = p / 2^256 ≈ 0.18903, 2^256 - p ≈ 4.29p). The Montgomery product without final subtraction, for
// a < 2^256 - p and any b < 2^256, keeps every intermediate below 2^256 (t < a + p after each step) and returns a
// value < a·b/2^256 + p. So an S-box input x < 3p gives x² < 2.70p, x⁴ < 2.38p, x⁵ < 2.35p; x < 2p gives x⁵ < 1.60p.
#include "proofs_kernels.h"

#include <string.h>

typedef unsigned __int128 u128;

typedef struct {
  uint64_t l[4];
} fe;

#include "poseidon2_constants.h"

#define P0 0x43e1f593f0000001ULL
#define P1 0x2833e84879b97091ULL
#define P2 0xb85045b68181585dULL
#define P3 0x30644e72e131a029ULL
#define PINV 0xc2e1f593efffffffULL  // -p^-1 mod 2^64
// floor(2^317 / p): q = (t3 · K) >> 125 estimates floor(t / p) from the top limb, low by at most one.
#define QEST 0xa948e8c4c474094fULL

#define AI static inline __attribute__((always_inline))

// MARK: additions and reductions (shared by both builds)

#if defined(__has_builtin)
#if __has_builtin(__builtin_addcll) && __has_builtin(__builtin_subcll)
#define HAVE_CARRY_BUILTINS 1
#endif
#endif

// a + b as 256-bit integers (callers keep the sum below 2^256).
AI fe add_nr(fe a, fe b) {
  fe r;
#ifdef HAVE_CARRY_BUILTINS
  unsigned long long c;
  r.l[0] = __builtin_addcll(a.l[0], b.l[0], 0, &c);
  r.l[1] = __builtin_addcll(a.l[1], b.l[1], c, &c);
  r.l[2] = __builtin_addcll(a.l[2], b.l[2], c, &c);
  r.l[3] = a.l[3] + b.l[3] + c;
#else
  u128 s = (u128)a.l[0] + b.l[0];
  r.l[0] = (uint64_t)s;
  s = (u128)a.l[1] + b.l[1] + (uint64_t)(s >> 64);
  r.l[1] = (uint64_t)s;
  s = (u128)a.l[2] + b.l[2] + (uint64_t)(s >> 64);
  r.l[2] = (uint64_t)s;
  r.l[3] = a.l[3] + b.l[3] + (uint64_t)(s >> 64);
#endif
  return r;
}

// t - k, and whether it borrowed (t < k).
AI fe sub_k(fe t, const fe *k, uint64_t *borrow) {
  fe d;
#ifdef HAVE_CARRY_BUILTINS
  unsigned long long b;
  d.l[0] = __builtin_subcll(t.l[0], k->l[0], 0, &b);
  d.l[1] = __builtin_subcll(t.l[1], k->l[1], b, &b);
  d.l[2] = __builtin_subcll(t.l[2], k->l[2], b, &b);
  d.l[3] = __builtin_subcll(t.l[3], k->l[3], b, &b);
  *borrow = b;
#else
  uint64_t b = 0;
  for (int i = 0; i < 4; i++) {
    u128 x = (u128)t.l[i] - k->l[i] - b;
    d.l[i] = (uint64_t)x;
    b = (uint64_t)(x >> 64) & 1;
  }
  *borrow = b;
#endif
  return d;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
// cmov selects (plain x86-64): fewer instructions than masks, and never a branch.

// [0, 2p) -> [0, p).
AI fe reduce2(fe t) {
  uint64_t d0 = t.l[0], d1 = t.l[1], d2 = t.l[2], d3 = t.l[3];
  __asm__(
    "subq %[p0], %[d0]\n\t"
    "sbbq %[p1], %[d1]\n\t"
    "sbbq %[p2], %[d2]\n\t"
    "sbbq %[p3], %[d3]\n\t"
    "cmovcq %[t0], %[d0]\n\t"
    "cmovcq %[t1], %[d1]\n\t"
    "cmovcq %[t2], %[d2]\n\t"
    "cmovcq %[t3], %[d3]\n\t"
    : [d0] "+&r"(d0), [d1] "+&r"(d1), [d2] "+&r"(d2), [d3] "+&r"(d3)
    : [t0] "r"(t.l[0]), [t1] "r"(t.l[1]), [t2] "r"(t.l[2]), [t3] "r"(t.l[3]), [p0] "m"(KP[1].l[0]),
      [p1] "m"(KP[1].l[1]), [p2] "m"(KP[1].l[2]), [p3] "m"(KP[1].l[3])
    : "cc");
  fe r = {{d0, d1, d2, d3}};
  return r;
}

// [0, 3p) -> [0, p): d = t < p ? t : t - p, then t - 2p replaces d unless t < 2p.
AI fe reduce3(fe t) {
  uint64_t t0 = t.l[0], t1 = t.l[1], t2 = t.l[2], t3 = t.l[3];
  uint64_t d0 = t0, d1 = t1, d2 = t2, d3 = t3;
  __asm__(
    "subq %[p0], %[d0]\n\t"
    "sbbq %[p1], %[d1]\n\t"
    "sbbq %[p2], %[d2]\n\t"
    "sbbq %[p3], %[d3]\n\t"
    "cmovcq %[t0], %[d0]\n\t"
    "cmovcq %[t1], %[d1]\n\t"
    "cmovcq %[t2], %[d2]\n\t"
    "cmovcq %[t3], %[d3]\n\t"
    "subq %[q0], %[t0]\n\t"
    "sbbq %[q1], %[t1]\n\t"
    "sbbq %[q2], %[t2]\n\t"
    "sbbq %[q3], %[t3]\n\t"
    "cmovncq %[t0], %[d0]\n\t"
    "cmovncq %[t1], %[d1]\n\t"
    "cmovncq %[t2], %[d2]\n\t"
    "cmovncq %[t3], %[d3]\n\t"
    : [d0] "+&r"(d0), [d1] "+&r"(d1), [d2] "+&r"(d2), [d3] "+&r"(d3), [t0] "+&r"(t0), [t1] "+&r"(t1),
      [t2] "+&r"(t2), [t3] "+&r"(t3)
    : [p0] "m"(KP[1].l[0]), [p1] "m"(KP[1].l[1]), [p2] "m"(KP[1].l[2]), [p3] "m"(KP[1].l[3]),
      [q0] "m"(KP[2].l[0]), [q1] "m"(KP[2].l[1]), [q2] "m"(KP[2].l[2]), [q3] "m"(KP[2].l[3])
    : "cc");
  fe r = {{d0, d1, d2, d3}};
  return r;
}
#else
// Branch-free: borrow ? keep : other. The empty asm hides that the mask is 0 or all ones; otherwise the compiler
// turns the select into a data-dependent branch, which mispredicts about half the time.
AI fe select(uint64_t borrow, fe keep, fe other) {
  uint64_t mask = 0 - (uint64_t)borrow;
  __asm__("" : "+r"(mask));
  fe r;
  for (int i = 0; i < 4; i++) r.l[i] = (keep.l[i] & mask) | (other.l[i] & ~mask);
  return r;
}

// [0, 2p) -> [0, p).
AI fe reduce2(fe t) {
  uint64_t b;
  fe d = sub_k(t, &KP[1], &b);
  return select(b, t, d);
}

// [0, 3p) -> [0, p): t - p and t - 2p are computed side by side, so this costs one subtraction's latency.
AI fe reduce3(fe t) {
  uint64_t b1, b2;
  fe d1 = sub_k(t, &KP[1], &b1);
  fe d2 = sub_k(t, &KP[2], &b2);
  return select(b2, select(b1, t, d1), d2);
}

#endif

// Any t < 2^256 -> [0, p + 2^194): t - q·p for the top-limb quotient estimate q (0 ≤ q ≤ floor(t / p) ≤ q + 1 ≤ 6,
// t - q·p < p + 2^192 + 2^-61·p). Used off the critical path where "almost reduced" is enough: every bound below
// that says "< kp" holds for such values up to a relative excess below 2^-59, and none is that tight.
AI fe reduce_q(fe t) {
  uint64_t q = (uint64_t)(((u128)t.l[3] * QEST) >> 125);
  uint64_t b;
  return sub_k(t, &KP[q], &b);
}

// Any t < 2^256 -> [0, p): subtract q·p for the top-limb quotient estimate q (t - q·p < 2p), then reduce2.
AI fe reduce_any(fe t) {
  uint64_t q = (uint64_t)(((u128)t.l[3] * QEST) >> 125);
  uint64_t b;
  return reduce2(sub_k(t, &KP[q], &b));
}

// MARK: portable Montgomery multiplication

// a·b·2^-256 mod p without the final subtraction (CIOS). Requires a < 2^256 - p; returns < a·b/2^256 + p.
AI fe mont_mul_c(fe a, const fe *bp) {
  fe b = *bp;
  uint64_t t0, t1, t2, t3, t4, m;
  u128 uv;
  uv = (u128)a.l[0] * b.l[0];
  t0 = (uint64_t)uv;
  uv = (u128)a.l[1] * b.l[0] + (uint64_t)(uv >> 64);
  t1 = (uint64_t)uv;
  uv = (u128)a.l[2] * b.l[0] + (uint64_t)(uv >> 64);
  t2 = (uint64_t)uv;
  uv = (u128)a.l[3] * b.l[0] + (uint64_t)(uv >> 64);
  t3 = (uint64_t)uv;
  t4 = (uint64_t)(uv >> 64);
#define C_REDUCE                                                     \
  m = t0 * PINV;                                                     \
  uv = (u128)m * P0 + t0;                                            \
  uv = (u128)m * P1 + t1 + (uint64_t)(uv >> 64);                     \
  t0 = (uint64_t)uv;                                                 \
  uv = (u128)m * P2 + t2 + (uint64_t)(uv >> 64);                     \
  t1 = (uint64_t)uv;                                                 \
  uv = (u128)m * P3 + t3 + (uint64_t)(uv >> 64);                     \
  t2 = (uint64_t)uv;                                                 \
  t3 = t4 + (uint64_t)(uv >> 64);
#define C_ROW(i)                                                     \
  uv = (u128)a.l[0] * b.l[i] + t0;                                   \
  t0 = (uint64_t)uv;                                                 \
  uv = (u128)a.l[1] * b.l[i] + t1 + (uint64_t)(uv >> 64);            \
  t1 = (uint64_t)uv;                                                 \
  uv = (u128)a.l[2] * b.l[i] + t2 + (uint64_t)(uv >> 64);            \
  t2 = (uint64_t)uv;                                                 \
  uv = (u128)a.l[3] * b.l[i] + t3 + (uint64_t)(uv >> 64);            \
  t3 = (uint64_t)uv;                                                 \
  t4 = (uint64_t)(uv >> 64);
  C_REDUCE C_ROW(1) C_REDUCE C_ROW(2) C_REDUCE C_ROW(3) C_REDUCE
#undef C_REDUCE
#undef C_ROW
  fe r = {{t0, t1, t2, t3}};
  return r;
}

AI fe mont_sqr_c(fe a) { return mont_mul_c(a, &a); }

// MARK: mulx/adcx/adox Montgomery multiplication (x86-64 with BMI2 + ADX only)

// Needs optimisation: unoptimised builds address the memory operands through extra registers and run out of them.
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && defined(__OPTIMIZE__)
#define HAVE_ADX_PATH 1

// p's limbs and -p^-1 mod 2^64, as (RIP-relative) memory operands for mulx/imul, which saves a register.
static const uint64_t MP[5] __attribute__((aligned(64))) = {P0, P1, P2, P3, PINV};

// CIOS, one 64-bit digit of b per step. Row: t += a·b_i with the low halves on the OF chain (adox) and the high halves
// on the CF chain (adcx). Reduction: m = t0·(-p^-1), t = (t + m·p) / 2^64, same two chains. The five t registers
// rotate so the shift by one limb costs nothing. Same bounds as mont_mul_c.
#define ADX_ROW0(B)                  \
  "movq " B ", %%rdx\n\t"            \
  "xorl %k[z], %k[z]\n\t"            \
  "mulxq %[a0], %[t0], %[t1]\n\t"    \
  "mulxq %[a1], %[lo], %[t2]\n\t"    \
  "adcxq %[lo], %[t1]\n\t"           \
  "mulxq %[a2], %[lo], %[t3]\n\t"    \
  "adcxq %[lo], %[t2]\n\t"           \
  "mulxq %[a3], %[lo], %[t4]\n\t"    \
  "adcxq %[lo], %[t3]\n\t"           \
  "adcxq %[z], %[t4]\n\t"
#define ADX_ROW(B, T0, T1, T2, T3, T4) \
  "movq " B ", %%rdx\n\t"              \
  "xorl %k[" T4 "], %k[" T4 "]\n\t"    \
  "mulxq %[a0], %[lo], %[hi]\n\t"      \
  "adoxq %[lo], %[" T0 "]\n\t"         \
  "adcxq %[hi], %[" T1 "]\n\t"         \
  "mulxq %[a1], %[lo], %[hi]\n\t"      \
  "adoxq %[lo], %[" T1 "]\n\t"         \
  "adcxq %[hi], %[" T2 "]\n\t"         \
  "mulxq %[a2], %[lo], %[hi]\n\t"      \
  "adoxq %[lo], %[" T2 "]\n\t"         \
  "adcxq %[hi], %[" T3 "]\n\t"         \
  "mulxq %[a3], %[lo], %[hi]\n\t"      \
  "adoxq %[lo], %[" T3 "]\n\t"         \
  "adcxq %[hi], %[" T4 "]\n\t"         \
  "adoxq %[z], %[" T4 "]\n\t"
#define ADX_RED(T0, T1, T2, T3, T4)   \
  "movq %[" T0 "], %%rdx\n\t"         \
  "imulq 32+%[mp], %%rdx\n\t"        \
  "xorl %k[z], %k[z]\n\t"             \
  "mulxq 0+%[mp], %[lo], %[hi]\n\t"  \
  "adcxq %[" T0 "], %[lo]\n\t"        \
  "adoxq %[hi], %[" T1 "]\n\t"        \
  "mulxq 8+%[mp], %[lo], %[hi]\n\t"  \
  "adcxq %[lo], %[" T1 "]\n\t"        \
  "adoxq %[hi], %[" T2 "]\n\t"        \
  "mulxq 16+%[mp], %[lo], %[hi]\n\t" \
  "adcxq %[lo], %[" T2 "]\n\t"        \
  "adoxq %[hi], %[" T3 "]\n\t"        \
  "mulxq 24+%[mp], %[lo], %[hi]\n\t" \
  "adcxq %[lo], %[" T3 "]\n\t"        \
  "adoxq %[hi], %[" T4 "]\n\t"        \
  "adcxq %[z], %[" T4 "]\n\t"
#define ADX_BODY(B0, B1, B2, B3)             \
  ADX_ROW0(B0)                               \
  ADX_RED("t0", "t1", "t2", "t3", "t4")      \
  ADX_ROW(B1, "t1", "t2", "t3", "t4", "t0")  \
  ADX_RED("t1", "t2", "t3", "t4", "t0")      \
  ADX_ROW(B2, "t2", "t3", "t4", "t0", "t1")  \
  ADX_RED("t2", "t3", "t4", "t0", "t1")      \
  ADX_ROW(B3, "t3", "t4", "t0", "t1", "t2")  \
  ADX_RED("t3", "t4", "t0", "t1", "t2")

// a in registers, b in memory (b is the operand that was ready earlier).
AI fe mont_mul_adx(fe a, const fe *b) {
  uint64_t t0, t1, t2, t3, t4, lo, hi, z;
  __asm__(ADX_BODY("%[b0]", "%[b1]", "%[b2]", "%[b3]")
          : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo),
            [hi] "=&r"(hi), [z] "=&r"(z)
          : [a0] "r"(a.l[0]), [a1] "r"(a.l[1]), [a2] "r"(a.l[2]), [a3] "r"(a.l[3]), [b0] "m"(b->l[0]),
            [b1] "m"(b->l[1]), [b2] "m"(b->l[2]), [b3] "m"(b->l[3]), [mp] "m"(MP)
          : "rdx", "cc");
  fe r = {{t4, t0, t1, t2}};
  return r;
}

AI fe mont_sqr_adx(fe a) {
  uint64_t t0, t1, t2, t3, t4, lo, hi, z;
  __asm__(ADX_BODY("%[a0]", "%[a1]", "%[a2]", "%[a3]")
          : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo),
            [hi] "=&r"(hi), [z] "=&r"(z)
          : [a0] "r"(a.l[0]), [a1] "r"(a.l[1]), [a2] "r"(a.l[2]), [a3] "r"(a.l[3]), [mp] "m"(MP)
          : "rdx", "cc");
  fe r = {{t4, t0, t1, t2}};
  return r;
}
#else
#define HAVE_ADX_PATH 0
// Never called (the dispatch below only selects the ADX build when HAVE_ADX_PATH); keeps the body compiling.
AI fe mont_mul_adx(fe a, const fe *b) { return mont_mul_c(a, b); }
AI fe mont_sqr_adx(fe a) { return mont_sqr_c(a); }
#endif

// MARK: the permutation body

#define MUL(a, b) (adx ? mont_mul_adx((a), &(b)) : mont_mul_c((a), &(b)))
#define SQR(a) (adx ? mont_sqr_adx(a) : mont_sqr_c(a))

// Full-round S-box: x < 2p -> x⁵ < 1.60p -> [0, p).
AI fe sbox_full(fe x, const int adx) {
  fe x2 = SQR(x);
  fe x4 = SQR(x2);
  return reduce2(MUL(x4, x));
}

// Partial-round S-box: x < 3p -> x⁵ < 2.35p -> [0, p).
AI fe sbox_partial(fe x, const int adx) {
  fe x2 = SQR(x);
  fe x4 = SQR(x2);
  return reduce3(MUL(x4, x));
}

// circ(2, 1, 1) on reduced inputs: x + (x + y + z) < 4p, reduced.
AI void external_layer(fe *a, fe *b, fe *c) {
  fe s = add_nr(add_nr(*a, *b), *c);
  *a = reduce_any(add_nr(*a, s));
  *b = reduce_any(add_nr(*b, s));
  *c = reduce_any(add_nr(*c, s));
}

AI void full_round(fe *a, fe *b, fe *c, const fe *k, const int adx) {
  // The three S-boxes are independent; the core overlaps them.
  *a = sbox_full(add_nr(*a, k[0]), adx);
  *b = sbox_full(add_nr(*b, k[1]), adx);
  *c = sbox_full(add_nr(*c, k[2]), adx);
  external_layer(a, b, c);
}

AI fe load_fe(const uint64_t *p) {
  fe r = {{p[0], p[1], p[2], p[3]}};
  return r;
}

AI void store_fe(uint64_t *p, fe v) { memcpy(p, v.l, sizeof v.l); }

// State words reduced below p on entry and exit.
AI void permute_body(uint64_t state[12], const int adx) {
  fe a = load_fe(state), b = load_fe(state + 4), c = load_fe(state + 8);
  external_layer(&a, &b, &c);
  for (int r = 0; r < 4; r++) full_round(&a, &b, &c, EXT_RC + 3 * r, adx);
  // Partial round j with u = (a + I[j])⁵: a' = 2u + b + c, b' = u + 2b + c, c' = u + b + 3c. The only chain from
  // one round to the next runs through u: the next S-box input a' + I[j+1] = 2u + w with w = b + c + I[j+1]
  // (almost reduced, from the b, c before round j, computed while the S-box runs), and 2u + w < 3p (+ a relative
  // 2^-60) needs no reduction. b' and c' are almost reduced off that chain; the full rounds accept such inputs
  // (x + E < 2.01p still gives x⁵ < 2p).
  fe x = add_nr(a, INT_RC[0]);  // < 2p
  for (int j = 0; j < 56; j++) {
    fe bc = add_nr(b, c);                                                    // < 2.01p
    fe w = reduce_q(add_nr(bc, INT_RC[j + 1]));                              // almost < p (I[56] = 0)
    fe u = sbox_partial(x, adx);                                             // < p
    x = add_nr(add_nr(u, u), w);                                             // almost < 3p
    fe s = add_nr(u, bc);                                                    // u + b + c
    fe nb = reduce_q(add_nr(s, b));                                          // u + 2b + c < 4.01p
    fe nc = reduce_q(add_nr(s, add_nr(c, c)));                               // u + b + 3c < 5.01p
    b = nb;
    c = nc;
  }
  a = reduce_any(x);  // a = 2u + b + c
  for (int r = 4; r < 8; r++) full_round(&a, &b, &c, EXT_RC + 3 * r, adx);
  store_fe(state, a);
  store_fe(state + 4, b);
  store_fe(state + 8, c);
}

#undef MUL
#undef SQR

// MARK: entry points

void codex_poseidon2_permute_portable(uint64_t state[12]) { permute_body(state, 0); }

#if HAVE_ADX_PATH
__attribute__((target("bmi2,adx"))) static void permute_adx(uint64_t state[12]) { permute_body(state, 1); }

int codex_poseidon2_uses_bmi2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
}

int codex_poseidon2_permute_adx(uint64_t state[12]) {
  if (!codex_poseidon2_uses_bmi2()) return 0;
  permute_adx(state);
  return 1;
}

void codex_poseidon2_permute(uint64_t state[12]) {
  if (__builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx")) {
    permute_adx(state);
  } else {
    permute_body(state, 0);
  }
}
#else
int codex_poseidon2_uses_bmi2(void) { return 0; }

int codex_poseidon2_permute_adx(uint64_t state[12]) {
  (void)state;
  return 0;
}

void codex_poseidon2_permute(uint64_t state[12]) { permute_body(state, 0); }
#endif

void codex_poseidon2_round_constants(uint64_t external[96], uint64_t internal_[224]) {
  memcpy(external, EXT_RC, sizeof EXT_RC);
  memcpy(internal_, INT_RC, 56 * sizeof(fe));
}

// Benchmark support: `count` dependent Montgomery products x = x·y (fully reduced result).
static void fr_mul_chain_c(uint64_t x[4], const uint64_t y[4], long count) {
  fe a = load_fe(x), b = load_fe(y);
  for (long i = 0; i < count; i++) a = mont_mul_c(a, &b);
  store_fe(x, reduce3(a));
}

#if HAVE_ADX_PATH
__attribute__((target("bmi2,adx"))) static void fr_mul_chain_adx(uint64_t x[4], const uint64_t y[4], long count) {
  fe a = load_fe(x), b = load_fe(y);
  for (long i = 0; i < count; i++) a = mont_mul_adx(a, &b);
  store_fe(x, reduce3(a));
}
#endif

void codex_fr_mul_chain(uint64_t x[4], const uint64_t y[4], long count, int portable) {
#if HAVE_ADX_PATH
  if (!portable && codex_poseidon2_uses_bmi2()) {
    fr_mul_chain_adx(x, y, count);
    return;
  }
#endif
  (void)portable;
  fr_mul_chain_c(x, y, count);
}
