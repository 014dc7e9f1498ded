/// The protected (erasure-coded) dataset layout of nim-codex (`erasure.md` §2.2): `B` original blocks are
/// padded to `rounded = roundUp(B, K)`, grouped into `steps = rounded / K` interleaved EC groups, and followed by
/// `steps × M` parity blocks. Leaf index space `0 ..< total`:
///
/// * `0 ..< B`: original blocks; `B ..< rounded`: padding (empty CID, all-zero data);
/// * `rounded ..< total`: parity; parity `j` of group `s` sits at `rounded + s + j·steps`.
///
/// Group `s` holds indices `s, s + steps, s + 2·steps, …` (position `p` at `s + p·steps`): data positions
/// `0 ..< K`, parity positions `K ..< K + M`.
public struct SteppedLayout: Sendable, Equatable {
  /// What sits at a leaf index.
  public enum Leaf: Sendable, Equatable {
    /// An original block (its index in the plain dataset equals the leaf index).
    case data(index: Int)
    /// Padding: empty CID, zero data.
    case padding
    /// Parity shard `parity` of group `step`.
    case parity(step: Int, parity: Int)
  }

  /// `B`: blocks of the plain dataset.
  public let originalBlocks: Int
  /// `K`.
  public let dataShards: Int
  /// `M`.
  public let parityShards: Int
  /// `roundUp(B, K)`.
  public let rounded: Int
  /// `rounded / K`: number of EC groups.
  public let steps: Int
  /// `rounded + steps × M`: leaves of the protected tree.
  public let total: Int

  /// Requires `1 ≤ M ≤ K ≤ B`.
  public init(originalBlocks b: Int, dataShards k: Int, parityShards m: Int) throws(LayoutError) {
    guard k >= 1, m >= 1, m <= k else {
      throw .invalidParameters("erasure parameters need 1 ≤ M ≤ K, got K=\(k) M=\(m)")
    }
    guard b >= k else { throw .insufficientBlocks(blocks: b, required: k) }
    let steps = b / k + (b % k == 0 ? 0 : 1)
    let (rounded, o1) = steps.multipliedReportingOverflow(by: k)
    let (parity, o2) = steps.multipliedReportingOverflow(by: m)
    let (total, o3) = rounded.addingReportingOverflow(parity)
    guard !o1, !o2, !o3 else { throw .tooLarge("protected layout of \(b) blocks with K=\(k) M=\(m) overflows") }
    self.originalBlocks = b
    self.dataShards = k
    self.parityShards = m
    self.rounded = rounded
    self.steps = steps
    self.total = total
  }

  /// Minimum dataset size in bytes for these parameters (`K × blockSize`), as in the REST error message.
  public static func minimumDatasetSize(dataShards k: Int, blockSize: Int) -> Int {
    k.multipliedReportingOverflow(by: blockSize).overflow ? Int.max : k * blockSize
  }

  /// Leaf index of position `position` (`0 ..< K + M`) in group `step`.
  public func index(step: Int, position: Int) throws(LayoutError) -> Int {
    try checkStep(step)
    guard position >= 0, position < dataShards + parityShards else {
      throw .invalidIndex("position \(position) is outside 0 ..< \(dataShards + parityShards)")
    }
    return step + position * steps
  }

  /// Leaf index of parity `parity` (`0 ..< M`) of group `step`: `rounded + step + parity·steps`.
  public func parityIndex(step: Int, parity: Int) throws(LayoutError) -> Int {
    guard parity >= 0, parity < parityShards else {
      throw .invalidIndex("parity \(parity) is outside 0 ..< \(parityShards)")
    }
    return try index(step: step, position: dataShards + parity)
  }

  /// The `K` data-position indices of group `step` (some may be padding).
  public func dataIndices(step: Int) throws(LayoutError) -> [Int] {
    try checkStep(step)
    return (0..<dataShards).map { step + $0 * steps }
  }

  /// All `K + M` indices of group `step` in position order; equals
  /// `IndexingStrategy(.stepped, first: 0, last: total − 1, iterations: steps).indices(step)`.
  public func groupIndices(step: Int) throws(LayoutError) -> [Int] {
    try checkStep(step)
    return (0..<(dataShards + parityShards)).map { step + $0 * steps }
  }

  /// The group and position of a leaf index.
  public func locate(_ index: Int) throws(LayoutError) -> (step: Int, position: Int) {
    guard index >= 0, index < total else { throw .invalidIndex("leaf index \(index) is outside 0 ..< \(total)") }
    return (index % steps, index / steps)
  }

  /// What the leaf at `index` holds.
  public func leaf(_ index: Int) throws(LayoutError) -> Leaf {
    let (step, position) = try locate(index)
    if index < originalBlocks { return .data(index: index) }
    if index < rounded { return .padding }
    return .parity(step: step, parity: position - dataShards)
  }

  /// True for padding leaves (`B ≤ index < rounded`).
  public func isPadding(_ index: Int) -> Bool { index >= originalBlocks && index < rounded }

  private func checkStep(_ step: Int) throws(LayoutError) {
    guard step >= 0, step < steps else { throw .invalidIteration("step \(step) is outside 0 ..< \(steps)") }
  }
}

extension SteppedLayout {
  /// Assembles the `total` protected-tree leaves (usually CIDs): the `B` original leaves, `padding` (the empty
  /// block CID, `Codex.emptyBlockCid`) for indices `B ..< rounded`, then parity leaf `j` of group `s` at
  /// `rounded + s + j·steps`. `parity[s][j]` is parity `j` of group `s` (`steps` groups of `M`).
  public func leaves<Leaf>(original: [Leaf], parity: [[Leaf]], padding: Leaf) throws(LayoutError) -> [Leaf] {
    guard original.count == originalBlocks else {
      throw .invalidIndex("expected \(originalBlocks) original leaves, got \(original.count)")
    }
    guard parity.count == steps, parity.allSatisfy({ $0.count == parityShards }) else {
      throw .invalidIndex("expected \(steps) groups of \(parityShards) parity leaves")
    }
    var out = original
    out.reserveCapacity(total)
    out.append(contentsOf: repeatElement(padding, count: rounded - originalBlocks))
    for j in 0..<parityShards {
      for s in 0..<steps { out.append(parity[s][j]) }
    }
    return out
  }
}
