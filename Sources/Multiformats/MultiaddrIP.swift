extension Multiaddr {
  /// An IPv4 address as it appears in `/ip4/…` (4 bytes, network order).
  public struct IPv4Address: Sendable, Hashable, CustomStringConvertible {
    /// The four octets, most significant first.
    public let bytes: [UInt8]

    /// Wraps 4 bytes. - Throws: ``MultiaddrError`` for any other length.
    public init(bytes: [UInt8]) throws(MultiaddrError) {
      guard bytes.count == 4 else { throw MultiaddrError("an IPv4 address is 4 bytes, got \(bytes.count)") }
      self.bytes = bytes
    }

    /// Builds an address from its four octets.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) { bytes = [a, b, c, d] }

    /// Parses dotted-decimal text (`127.0.0.1`). Leading zeros, signs and values above 255 are rejected.
    public init(string: some StringProtocol) throws(MultiaddrError) {
      let parts = string.split(separator: ".", omittingEmptySubsequences: false)
      guard parts.count == 4 else { throw MultiaddrError("'\(string)' is not a dotted-decimal IPv4 address") }
      var out = [UInt8]()
      for part in parts {
        guard let octet = Self.octet(part) else {
          throw MultiaddrError("'\(string)' is not a dotted-decimal IPv4 address")
        }
        out.append(octet)
      }
      bytes = out
    }

    static func octet(_ text: some StringProtocol) -> UInt8? {
      let utf8 = Array(text.utf8)
      guard !utf8.isEmpty, utf8.count <= 3, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
      if utf8.count > 1 && utf8[0] == 0x30 { return nil }
      let value = utf8.reduce(0) { $0 * 10 + Int($1 - 0x30) }
      return value <= 255 ? UInt8(value) : nil
    }

    public var description: String { bytes.map { String($0) }.joined(separator: ".") }
  }

  /// An IPv6 address as it appears in `/ip6/…` (16 bytes, network order).
  public struct IPv6Address: Sendable, Hashable, CustomStringConvertible {
    /// The sixteen octets, most significant first.
    public let bytes: [UInt8]

    /// Wraps 16 bytes. - Throws: ``MultiaddrError`` for any other length.
    public init(bytes: [UInt8]) throws(MultiaddrError) {
      guard bytes.count == 16 else { throw MultiaddrError("an IPv6 address is 16 bytes, got \(bytes.count)") }
      self.bytes = bytes
    }

    /// Parses RFC 4291 text: hex groups, at most one `::`, optionally a dotted IPv4 tail (`::ffff:1.2.3.4`).
    public init(string: some StringProtocol) throws(MultiaddrError) {
      let text = String(string)
      let invalid = MultiaddrError("'\(text)' is not an IPv6 address")
      guard !text.isEmpty, text.utf8.count <= 45 else { throw invalid }
      var head: [UInt16] = []
      var tail: [UInt16] = []
      var sawGap = false
      let gaps = text.ranges(of: "::")
      guard gaps.count <= 1 else { throw invalid }
      let halves: [String] =
        gaps.first.map { [String(text[..<$0.lowerBound]), String(text[$0.upperBound...])] } ?? [text]
      func groups(_ part: String, allowIPv4Tail: Bool) throws(MultiaddrError) -> [UInt16] {
        if part.isEmpty { return [] }
        let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
        var out: [UInt16] = []
        for (index, piece) in pieces.enumerated() {
          if allowIPv4Tail && index == pieces.count - 1 && piece.contains(".") {
            let v4 = try IPv4Address(string: piece)
            out.append(UInt16(v4.bytes[0]) << 8 | UInt16(v4.bytes[1]))
            out.append(UInt16(v4.bytes[2]) << 8 | UInt16(v4.bytes[3]))
            continue
          }
          let utf8 = Array(piece.utf8)
          guard !utf8.isEmpty, utf8.count <= 4, let value = UInt16(piece, radix: 16),
            utf8.allSatisfy({ Self.isHexDigit($0) })
          else { throw invalid }
          out.append(value)
        }
        return out
      }
      if halves.count == 2 {
        sawGap = true
        head = try groups(halves[0], allowIPv4Tail: false)
        tail = try groups(halves[1], allowIPv4Tail: true)
        guard head.count + tail.count <= 7 else { throw invalid }
      } else {
        head = try groups(halves[0], allowIPv4Tail: true)
        guard head.count == 8 else { throw invalid }
      }
      let all = sawGap ? head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail : head
      var out = [UInt8]()
      out.reserveCapacity(16)
      for group in all {
        out.append(UInt8(group >> 8))
        out.append(UInt8(group & 0xff))
      }
      bytes = out
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    /// RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`,
    /// IPv4-mapped addresses as `::ffff:a.b.c.d`.
    public var description: String {
      let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
      if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xffff {
        return "::ffff:" + bytes[12..<16].map { String($0) }.joined(separator: ".")
      }
      var bestStart = -1
      var bestLength = 0
      var index = 0
      while index < 8 {
        if groups[index] == 0 {
          var end = index
          while end < 8 && groups[end] == 0 { end += 1 }
          if end - index > bestLength && end - index >= 2 {
            bestStart = index
            bestLength = end - index
          }
          index = end
        } else {
          index += 1
        }
      }
      func hex(_ range: Range<Int>) -> String {
        groups[range].map { String($0, radix: 16) }.joined(separator: ":")
      }
      if bestStart < 0 { return hex(0..<8) }
      return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
  }
}
