/// nim-codex's block indexing strategies (`erasure.md` §2.1): split `first ... last` into `iterations` groups,
/// either contiguously (linear) or interleaved (stepped), each optionally followed by virtual padding indices.
public struct IndexingStrategy: Sendable, Equatable {
  /// Manifest values: `linear = 0`, `stepped = 1`.
  public enum Kind: Int, Sendable, Equatable {
    case linear = 0
    case stepped = 1
  }

  public let kind: Kind
  public let first: Int
  public let last: Int
  public let iterations: Int
  /// `ceil((last − first + 1) / iterations)`.
  public let step: Int
  public let groupCount: Int
  public let padBlockCount: Int

  /// Validates like upstream: `first ≤ last`, `iterations > 0`, `padBlockCount ≥ 0`, and `groupCount > 0`
  /// when padding is requested.
  public init(
    _ kind: Kind, first: Int, last: Int, iterations: Int, groupCount: Int = 0, padBlockCount: Int = 0
  ) throws(LayoutError) {
    guard first <= last else { throw .invalidIndex("first index \(first) is greater than last index \(last)") }
    guard first >= 0 else { throw .invalidIndex("first index \(first) is negative") }
    guard iterations > 0 else { throw .invalidIteration("iterations must be positive, got \(iterations)") }
    guard padBlockCount >= 0 else { throw .invalidPadding("padBlockCount must not be negative, got \(padBlockCount)") }
    guard padBlockCount == 0 || groupCount > 0 else {
      throw .invalidPadding("padBlockCount \(padBlockCount) needs a positive groupCount, got \(groupCount)")
    }
    let (span, overflow) = last.subtractingReportingOverflow(first)
    guard !overflow, span < Int.max else { throw .tooLarge("index range \(first) ... \(last) is too large") }
    self.kind = kind
    self.first = first
    self.last = last
    self.iterations = iterations
    self.step = (span + 1) / iterations + ((span + 1) % iterations == 0 ? 0 : 1)
    self.groupCount = groupCount
    self.padBlockCount = padBlockCount
  }

  /// The indices of iteration `i` (`0 ≤ i < iterations`), padding indices last.
  public func indices(_ i: Int) throws(LayoutError) -> [Int] {
    guard i >= 0, i < iterations else {
      throw .invalidIteration("iteration \(i) is outside 0 ..< \(iterations)")
    }
    var out: [Int] = []
    switch kind {
    case .linear:
      // first + i·step cannot overflow: i·step < span + step ≤ 2·span.
      let lo = first + i * step
      if lo <= last {
        let hi = min(lo + (step - 1), last)
        out.append(contentsOf: lo...hi)
      }
    case .stepped:
      var idx = first + i
      while idx <= last {
        out.append(idx)
        let (next, overflow) = idx.addingReportingOverflow(iterations)
        if overflow { break }
        idx = next
      }
    }
    for k in 0..<padBlockCount {
      let (offset, o1) = k.multipliedReportingOverflow(by: groupCount)
      let (base, o2) = last.addingReportingOverflow(i + 1)
      let (value, o3) = base.addingReportingOverflow(offset)
      if o1 || o2 || o3 { throw .tooLarge("padding index overflows") }
      out.append(value)
    }
    return out
  }
}
