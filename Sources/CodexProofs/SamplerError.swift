/// Why sample indices or a proof input could not be computed.
public enum SamplerError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The marketplace challenge must be exactly 32 bytes.
  case wrongChallengeLength(Int)
  /// The number of cells per slot must be a power of two (≤ 2^32, the circuit's limit).
  case cellCountNotPowerOfTwo(Int)
  /// The number of cells per slot must be a whole number of blocks.
  case cellCountNotMultipleOfBlock(cellCount: Int, cellsPerBlock: Int)
  /// The number of samples must be positive.
  case invalidSampleCount(Int)
  /// The slot index is outside the dataset.
  case slotIndexOutOfRange(index: Int, slots: Int)
  /// A block handed to the builder does not have the slot's block size.
  case wrongBlockSize(expected: Int, actual: Int)
  /// A tree or path could not be built.
  case merkle(MerkleError)

  public var description: String {
    switch self {
    case .wrongChallengeLength(let n): return "proof challenge must be 32 bytes, got \(n)"
    case .cellCountNotPowerOfTwo(let n): return "cells per slot must be a power of two ≤ 2^32, got \(n)"
    case .cellCountNotMultipleOfBlock(let n, let perBlock):
      return "cells per slot (\(n)) is not a multiple of the cells per block (\(perBlock))"
    case .invalidSampleCount(let n): return "number of samples must be positive, got \(n)"
    case .slotIndexOutOfRange(let index, let slots): return "slot index \(index) out of range 0..<\(slots)"
    case .wrongBlockSize(let expected, let actual): return "block has \(actual) bytes, the slot uses \(expected)"
    case .merkle(let e): return e.description
    }
  }
}
