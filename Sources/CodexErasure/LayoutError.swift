/// Why an indexing strategy or erasure layout was refused (`erasure.md` §2). Never a trap.
public enum LayoutError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `first > last`, or an index argument outside the layout.
  case invalidIndex(String)
  /// `iterations ≤ 0`, or an iteration outside `0 ..< iterations`.
  case invalidIteration(String)
  /// `padBlockCount < 0`, or padding requested with `groupCount ≤ 0`.
  case invalidPadding(String)
  /// Erasure parameters the layout cannot use (`1 ≤ M ≤ K` required).
  case invalidParameters(String)
  /// The dataset has fewer blocks than `K` (upstream `InsufficientBlocksError`; REST 422 "Dataset too small").
  case insufficientBlocks(blocks: Int, required: Int)
  /// The layout's block count does not fit in an `Int`.
  case tooLarge(String)

  public var description: String {
    switch self {
    case .invalidIndex(let s), .invalidIteration(let s), .invalidPadding(let s), .invalidParameters(let s),
      .tooLarge(let s):
      return s
    case .insufficientBlocks(let blocks, let required):
      return "dataset too small for erasure parameters: \(blocks) blocks, need at least \(required)"
    }
  }
}
