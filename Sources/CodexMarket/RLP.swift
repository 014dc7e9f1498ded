/// Recursive Length Prefix encoding (Ethereum yellow paper, appendix B).
///
/// `RLP.encode` is total. `RLP.decode` accepts only canonical encodings of exactly one item and throws
/// `RLPError` on anything else (truncation, non-minimal lengths, trailing bytes, nesting deeper than 64).
public enum RLPItem: Hashable, Sendable {
  case bytes([UInt8])
  case list([RLPItem])

  /// An integer as minimal big-endian bytes (zero is the empty string).
  public static func uint(_ v: UInt256) -> RLPItem { .bytes(v.minimalBigEndianBytes) }
  public static func uint64(_ v: UInt64) -> RLPItem { .uint(UInt256(v)) }

  /// The byte string, or nil for a list.
  public var bytesValue: [UInt8]? {
    if case .bytes(let b) = self { return b }
    return nil
  }
  /// The list elements, or nil for a byte string.
  public var listValue: [RLPItem]? {
    if case .list(let l) = self { return l }
    return nil
  }
}

/// A malformed RLP input.
public enum RLPError: Error, Equatable, CustomStringConvertible {
  case empty
  case truncated(needed: Int, available: Int)
  case nonCanonicalLength(offset: Int)
  case singleByteNotCanonical(offset: Int)
  case lengthTooLarge(offset: Int)
  case trailingBytes(count: Int)
  case tooDeep
  /// A structurally valid item had the wrong shape for its use (e.g. a list where an integer was expected).
  case unexpectedShape(String)
  /// An integer with leading zero bytes or more than 32 bytes.
  case invalidInteger(String)

  public var description: String {
    switch self {
    case .empty: return "RLP: empty input"
    case .truncated(let n, let a): return "RLP: truncated (needed \(n) bytes, \(a) available)"
    case .nonCanonicalLength(let o): return "RLP: non-canonical length prefix at offset \(o)"
    case .singleByteNotCanonical(let o): return "RLP: single byte below 0x80 wrapped in a string prefix at \(o)"
    case .lengthTooLarge(let o): return "RLP: length too large at offset \(o)"
    case .trailingBytes(let c): return "RLP: \(c) trailing bytes after the item"
    case .tooDeep: return "RLP: nesting deeper than 64 levels"
    case .unexpectedShape(let s): return "RLP: unexpected shape: \(s)"
    case .invalidInteger(let s): return "RLP: invalid integer: \(s)"
    }
  }
}

public enum RLP {
  /// Encodes one item.
  public static func encode(_ item: RLPItem) -> [UInt8] {
    var out = [UInt8]()
    append(item, to: &out)
    return out
  }

  static func append(_ item: RLPItem, to out: inout [UInt8]) {
    switch item {
    case .bytes(let b):
      if b.count == 1 && b[0] < 0x80 {
        out.append(b[0])
      } else {
        appendLength(b.count, offset: 0x80, to: &out)
        out.append(contentsOf: b)
      }
    case .list(let items):
      var payload = [UInt8]()
      for i in items { append(i, to: &payload) }
      appendLength(payload.count, offset: 0xC0, to: &out)
      out.append(contentsOf: payload)
    }
  }

  static func appendLength(_ n: Int, offset: UInt8, to out: inout [UInt8]) {
    if n < 56 {
      out.append(offset + UInt8(n))
    } else {
      let lenBytes = UInt256(UInt64(n)).minimalBigEndianBytes
      out.append(offset + 55 + UInt8(lenBytes.count))
      out.append(contentsOf: lenBytes)
    }
  }

  /// Decodes exactly one canonical item spanning all of `bytes`.
  public static func decode(_ bytes: [UInt8]) throws(RLPError) -> RLPItem {
    guard !bytes.isEmpty else { throw .empty }
    var pos = 0
    let item = try decodeItem(bytes, &pos, end: bytes.count, depth: 0)
    guard pos == bytes.count else { throw .trailingBytes(count: bytes.count - pos) }
    return item
  }

  private static func decodeItem(_ b: [UInt8], _ pos: inout Int, end: Int, depth: Int) throws(RLPError) -> RLPItem {
    guard depth <= 64 else { throw .tooDeep }
    guard pos < end else { throw .truncated(needed: 1, available: 0) }
    let start = pos
    let p = b[pos]
    pos += 1
    switch p {
    case 0x00...0x7F:
      return .bytes([p])
    case 0x80...0xBF:
      let len = try readLength(b, &pos, end: end, prefix: p, base: 0x80, start: start)
      guard end - pos >= len else { throw .truncated(needed: len, available: end - pos) }
      let payload = Array(b[pos..<(pos + len)])
      pos += len
      if len == 1 && payload[0] < 0x80 { throw .singleByteNotCanonical(offset: start) }
      return .bytes(payload)
    default:
      let len = try readLength(b, &pos, end: end, prefix: p, base: 0xC0, start: start)
      guard end - pos >= len else { throw .truncated(needed: len, available: end - pos) }
      let listEnd = pos + len
      var items = [RLPItem]()
      while pos < listEnd { items.append(try decodeItem(b, &pos, end: listEnd, depth: depth + 1)) }
      return .list(items)
    }
  }

  private static func readLength(
    _ b: [UInt8], _ pos: inout Int, end: Int, prefix: UInt8, base: UInt8, start: Int
  ) throws(RLPError) -> Int {
    let short = Int(prefix - base)
    if short <= 55 { return short }
    let lenOfLen = short - 55
    guard end - pos >= lenOfLen else { throw .truncated(needed: lenOfLen, available: end - pos) }
    guard b[pos] != 0 else { throw .nonCanonicalLength(offset: start) }
    guard lenOfLen <= 4 else { throw .lengthTooLarge(offset: start) }
    var len = 0
    for i in 0..<lenOfLen { len = len << 8 | Int(b[pos + i]) }
    pos += lenOfLen
    guard len >= 56 else { throw .nonCanonicalLength(offset: start) }
    return len
  }

  /// Reads a canonical unsigned integer (no leading zeros, at most 32 bytes) from a byte-string item.
  public static func uint(_ item: RLPItem) throws(RLPError) -> UInt256 {
    guard case .bytes(let b) = item else { throw .unexpectedShape("list where an integer was expected") }
    guard b.first != 0 else { throw .invalidInteger("leading zero byte") }
    guard let v = UInt256(bigEndian: b), b.count <= 32 else { throw .invalidInteger("more than 32 bytes") }
    return v
  }

  /// Reads a canonical integer that must fit in 64 bits.
  public static func uint64(_ item: RLPItem) throws(RLPError) -> UInt64 {
    guard let v = try uint(item).uint64Value else { throw .invalidInteger("does not fit in 64 bits") }
    return v
  }
}
