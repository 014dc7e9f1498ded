/// Erasure-coding parameters of a protected dataset: `K` data and `M` parity blocks per EC group.
///
/// Codex accepts `1 < K` and `1 ≤ M ≤ K` (REST: `1 < nodes − tolerance ≥ tolerance`, `erasure.md` §1), and
/// Leopard needs `K + M ≤ 65536`.
public struct ErasureParameters: Sendable, Equatable, CustomStringConvertible {
  /// `K` (`ecK`).
  public let dataShards: Int
  /// `M` (`ecM`).
  public let parityShards: Int

  /// The REST defaults: 3 nodes tolerating 1 loss (`K = 2`, `M = 1`).
  public static let defaults = try! ErasureParameters(nodes: 3, tolerance: 1)

  /// `K = nodes − tolerance`, `M = tolerance`, checked like nim-codex's REST API.
  /// - Throws: `ErasureCodingError.invalidParameters` unless `tolerance > 0`, `tolerance ≤ nodes` and
  ///   `1 < nodes − tolerance ≥ tolerance`.
  public init(nodes: Int, tolerance: Int) throws(ErasureCodingError) {
    guard tolerance > 0 else { throw .invalidParameters("Tolerance needs to be bigger then zero") }
    guard tolerance <= nodes else {
      throw .invalidParameters("Invalid parameters: tolerance (\(tolerance)) must not exceed nodes (\(nodes))")
    }
    let k = nodes - tolerance
    guard k > 1, k >= tolerance else {
      throw .invalidParameters(
        "Invalid parameters: parameters must satisfy `1 < (nodes - tolerance) ≥ tolerance`, got nodes=\(nodes) tolerance=\(tolerance)"
      )
    }
    try self.init(dataShards: k, parityShards: tolerance)
  }

  /// Explicit `K` and `M`.
  /// - Throws: `ErasureCodingError.invalidParameters` unless `K > 1`, `1 ≤ M ≤ K` and `K + M ≤ 65536`.
  public init(dataShards k: Int, parityShards m: Int) throws(ErasureCodingError) {
    guard k > 1 else { throw .invalidParameters("Invalid parameters: K must be greater than 1, got \(k)") }
    guard m >= 1, m <= k else { throw .invalidParameters("Invalid parameters: need 1 ≤ M ≤ K, got K=\(k) M=\(m)") }
    guard k <= 65536 - m else { throw .invalidParameters("Invalid parameters: K + M must not exceed 65536") }
    self.dataShards = k
    self.parityShards = m
  }

  public var description: String { "K=\(dataShards) M=\(parityShards)" }
}
