#ifndef CODEX_PROOFS_KERNELS_H
#define CODEX_PROOFS_KERNELS_H

#include <stdint.h>

/// Lowers the calling thread's scheduling priority to `niceness` (0 ... 19) so compute-pool workers yield to
/// I/O threads. Returns 0 on success, -1 (errno set) on failure. Linux: per-thread nice; elsewhere a no-op.
int codex_proofs_lower_thread_priority(int niceness);

/// The Poseidon2 permutation (BN254 Fr, t = 3, x^5, 8 full + 56 partial rounds, the round constants of
/// shared/spec/slots-and-proofs.md Appendix A, built in) on a state of three field elements in Montgomery form
/// (R = 2^256), each four little-endian 64-bit limbs reduced below p: `state[0..3]` = x, `state[4..7]` = y,
/// `state[8..11]` = z. The result is reduced below p. Uses the mulx/adcx/adox build when the CPU has BMI2 and ADX,
/// else the portable build; both give identical results.
void codex_poseidon2_permute(uint64_t state[12]);

/// The same permutation, always the portable (unsigned __int128) build.
void codex_poseidon2_permute_portable(uint64_t state[12]);

/// The same permutation, always the mulx/adcx/adox build. Returns 1 after permuting, or 0 (state untouched) when
/// this CPU or build has no such path.
int codex_poseidon2_permute_adx(uint64_t state[12]);

/// 1 if `codex_poseidon2_permute` uses the BMI2/ADX code path on this CPU, else 0.
int codex_poseidon2_uses_bmi2(void);

/// Copies the built-in round constants (Montgomery form, four limbs each): 24 external (row-major, 3 per full
/// round) and 56 internal.
void codex_poseidon2_round_constants(uint64_t external[96], uint64_t internal_[224]);

/// Benchmark support: `count` dependent Montgomery products `x = x·y` (x, y in Montgomery form, reduced below p;
/// x is reduced below p on return) with the kernel's multiplication: the portable one if `portable` is non-zero or
/// the CPU lacks BMI2/ADX, else the mulx/adcx/adox one.
void codex_fr_mul_chain(uint64_t x[4], const uint64_t y[4], long count, int portable);

/// Eight independent Poseidon2 permutations: `states[12·l ..< 12·l + 12]` is lane l's state in the layout of
/// `codex_poseidon2_permute` (Montgomery form, R = 2^256, reduced below p); each result equals that function's. Uses the
/// AVX-512 IFMA kernel (one permutation per 64-bit lane) when the CPU has AVX-512F and IFMA, else runs the scalar
/// kernel eight times.
void codex_poseidon2_permute_batch8(uint64_t states[96]);

/// The same eight permutations, always the AVX-512 IFMA kernel. Returns 1 after permuting, or 0 (states untouched)
/// when this CPU or build has no such path.
int codex_poseidon2_permute_batch8_ifma(uint64_t states[96]);

/// 1 if this CPU and build run `codex_poseidon2_permute_batch8` on the AVX-512 IFMA kernel, else 0.
int codex_poseidon2_has_ifma(void);

#endif
