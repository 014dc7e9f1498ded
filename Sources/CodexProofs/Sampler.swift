/// The Codex cell sampler (`codex/slots/sampler`): turns a marketplace challenge into the entropy field element and
/// derives the cell indices to prove, exactly as the storage-proof circuit recomputes them.
public enum Sampler {
  /// Default number of samples per proof (`--proof-samples`).
  public static let defaultSampleCount = 5

  /// `Fr` of the first 31 bytes of the 32-byte challenge, little-endian.
  /// - Throws: `SamplerError.wrongChallengeLength` unless the challenge is 32 bytes.
  public static func entropy(challenge: some Collection<UInt8>) throws(SamplerError) -> Fr {
    guard challenge.count == 32 else { throw .wrongChallengeLength(challenge.count) }
    return try! Fr(shortBytes: challenge.prefix(31))  // 31 bytes always fit below p
  }

  /// `log2(cellCount)` after checking that `cellCount` is a power of two in `1 … 2^32`.
  public static func log2CellCount(_ cellCount: Int) throws(SamplerError) -> Int {
    guard cellCount > 0, cellCount <= 1 << 32, cellCount & (cellCount - 1) == 0 else {
      throw .cellCountNotPowerOfTwo(cellCount)
    }
    return cellCount.trailingZeroBitCount
  }

  /// The cell index for sample `counter` (counters start at 1): the lowest `log2(cellCount)` bits of
  /// `Sponge_rate2([entropy, slotRoot, counter])`.
  public static func cellIndex(entropy: Fr, slotRoot: Fr, counter: Int, cellCount: Int) throws(SamplerError) -> Int {
    let bits = try log2CellCount(cellCount)
    let h = Poseidon2Sponge.digest([entropy, slotRoot, Fr(UInt64(counter))])
    let low = h.canonicalLimbs.0
    return Int(low & ((UInt64(1) << UInt64(bits)) &- 1))
  }

  /// The cell indices for counters `1 … samples` (duplicates are allowed).
  public static func cellIndices(entropy: Fr, slotRoot: Fr, cellCount: Int, samples: Int = defaultSampleCount)
    throws(SamplerError) -> [Int]
  {
    guard samples > 0 else { throw .invalidSampleCount(samples) }
    var out: [Int] = []
    for counter in 1...samples {
      out.append(try cellIndex(entropy: entropy, slotRoot: slotRoot, counter: counter, cellCount: cellCount))
    }
    return out
  }
}
