/// Why a Reed-Solomon encode or decode was refused. Every check happens before any work is done, and no input
/// can make the codec trap.
public enum ErasureError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `K` or `M` is outside what Leopard accepts (`1 ≤ M ≤ K`, `K + M ≤ 65536`).
  case invalidCounts(dataShards: Int, parityShards: Int, reason: String)
  /// A shard's size is zero or not a multiple of 64 bytes.
  case invalidShardSize(Int)
  /// Shards passed to one call do not all have the same size.
  case shardSizeMismatch(expected: Int, found: Int, shard: Int)
  /// The number of shard slots passed does not match `K` (data) or `M` (parity).
  case wrongShardCount(kind: String, expected: Int, found: Int)
  /// Fewer parity shards are present than data shards are missing (Leopard's `NeedMoreData`).
  case tooManyErasures(missingData: Int, presentParity: Int)

  public var description: String {
    switch self {
    case .invalidCounts(let k, let m, let reason):
      return "invalid erasure parameters K=\(k) M=\(m): \(reason)"
    case .invalidShardSize(let size):
      return "invalid shard size \(size): must be positive and a multiple of 64 bytes"
    case .shardSizeMismatch(let expected, let found, let shard):
      return "shard \(shard) has \(found) bytes, expected \(expected) like the others"
    case .wrongShardCount(let kind, let expected, let found):
      return "expected \(expected) \(kind) shard slots, got \(found)"
    case .tooManyErasures(let missing, let present):
      return "cannot decode: \(missing) data shards missing but only \(present) parity shards present"
    }
  }
}
