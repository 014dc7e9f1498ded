/// Fixed-size chunking with a zero-padded last block (`formats.md` §3).
///
/// Feed it bytes in pieces of any size; it hands back each full block as soon as it is complete. `finish()`
/// returns the last, zero-padded block (if any bytes are pending) and the real number of bytes seen.
public struct Chunker: Sendable {
  public let blockSize: Int
  private var pending: [UInt8] = []
  /// The number of real (unpadded) bytes fed so far.
  public private(set) var byteCount: UInt64 = 0

  public init(blockSize: Int = Codex.defaultBlockSize) {
    precondition(blockSize > 0, "block size must be positive")
    self.blockSize = blockSize
    pending.reserveCapacity(blockSize)
  }

  /// Adds bytes; returns every block completed by them, in order.
  public mutating func feed(_ bytes: some Collection<UInt8>) -> [[UInt8]] {
    byteCount += UInt64(bytes.count)
    var out: [[UInt8]] = []
    var rest = bytes[...]
    while !rest.isEmpty {
      let take = min(blockSize - pending.count, rest.count)
      let end = rest.index(rest.startIndex, offsetBy: take)
      pending.append(contentsOf: rest[rest.startIndex..<end])
      rest = rest[end...]
      if pending.count == blockSize {
        out.append(pending)
        pending.removeAll(keepingCapacity: true)
      }
    }
    return out
  }

  /// Ends the stream: the zero-padded last block, or nil when the bytes filled whole blocks.
  public mutating func finish() -> [UInt8]? {
    guard !pending.isEmpty else { return nil }
    var last = pending
    last.append(contentsOf: repeatElement(0, count: blockSize - pending.count))
    pending.removeAll()
    return last
  }
}
