/// A zero-knowledge proving system for the Codex storage-proof statement (Groth16 over BN254 with the circom
/// `SampleAndProve` circuit, as the marketplace verifier expects). Implementations live outside the pure math
/// (a subprocess prover, a native prover); the node uses none when proving is not configured.
public protocol ProofBackend: Sendable {
  /// Produces a proof for `input` (circuit-padded). Returns the proof bytes in the backend's wire form
  /// (for Groth16: `a` (G1), `b` (G2), `c` (G1), coordinates as 32-byte little-endian integers, 256 bytes).
  /// - Throws: if the backend cannot prove (missing circuit files, witness failure, prover crash).
  func prove(_ input: CircuitInput) async throws -> [UInt8]

  /// Checks `proof` against the public signals `[entropy, dataSetRoot, slotIndex]`.
  /// - Returns: `false` for a well-formed proof that does not verify.
  /// - Throws: if the proof bytes are malformed or the verification key is unavailable.
  func verify(proof: [UInt8], publicSignals: [Fr]) async throws -> Bool
}
