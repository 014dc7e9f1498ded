#ifndef CODEX_PROOFS_KERNELS_H
#define CODEX_PROOFS_KERNELS_H

#include <stdint.h>

/// Lowers the calling thread's scheduling priority to `niceness` (0 ... 19) so compute-pool workers yield to
/// I/O threads. Returns 0 on success, -1 (errno set) on failure. Linux: per-thread nice; elsewhere a no-op.
int codex_proofs_lower_thread_priority(int niceness);

/// The Poseidon2 permutation (BN254 Fr, t = 3, 8 full + 56 partial rounds) on a state of three field elements in
/// Montgomery form (R = 2^256), each four little-endian 64-bit limbs fully reduced below p: `state[0..3]` = x,
/// `state[4..7]` = y, `state[8..11]` = z. `external` holds the 24 external round constants and `internal_` the 56
/// internal ones, in Montgomery form, four limbs each. Same arithmetic as the Swift `Poseidon2.permute`.
void codex_poseidon2_permute(uint64_t state[12], const uint64_t *external, const uint64_t *internal_);

/// 1 if `codex_poseidon2_permute` uses the BMI2/ADX code path on this CPU, else 0.
int codex_poseidon2_uses_bmi2(void);

#endif
