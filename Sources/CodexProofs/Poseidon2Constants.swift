/// The Poseidon2 round constants (BN254, t = 3) in Montgomery form, built once from the generated tables.
public enum Poseidon2Constants {
  /// Number of full rounds (4 before and 4 after the partial rounds).
  public static let fullRounds = 8
  /// Number of partial rounds.
  public static let partialRounds = 56

  /// External round constants, row-major: `external[3·r + k]` is added to state word `k` in full round `r`.
  public static let external: [Fr] = externalCanonical.map { Fr(reducedLimbs: $0.0, $0.1, $0.2, $0.3) }
  /// Internal round constants: `internal[j]` is added to `x` in partial round `j`.
  public static let `internal`: [Fr] = internalCanonical.map { Fr(reducedLimbs: $0.0, $0.1, $0.2, $0.3) }

}
