/// A self-describing hash: `varint(code) ‖ varint(length) ‖ digest`.
public struct Multihash: Hashable, Sendable, CustomStringConvertible {
  /// The hash function.
  public let code: Multicodec
  /// The raw digest bytes.
  public let digest: [UInt8]

  /// Wraps a digest. Does not check its length against the code; `init(bytes:)` does.
  public init(code: Multicodec, digest: [UInt8]) {
    self.code = code
    self.digest = digest
  }

  /// The binary multihash.
  public var bytes: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(digest.count + 6)
    Varint.append(code.rawValue, to: &out)
    Varint.append(UInt64(digest.count), to: &out)
    out += digest
    return out
  }

  /// Parses a complete binary multihash (no trailing bytes).
  public init(bytes: some Collection<UInt8>) throws(MultiformatsError) {
    let (value, used) = try Multihash.parse(Array(bytes)[...])
    guard used == bytes.count else { throw .trailingBytes(bytes.count - used) }
    self = value
  }

  /// Parses a multihash from the start of `bytes`; returns it and the number of bytes it used.
  public static func parse(_ bytes: ArraySlice<UInt8>) throws(MultiformatsError) -> (Multihash, Int) {
    let (code, n1) = try Varint.decode(bytes)
    let (length, n2) = try Varint.decode(bytes.dropFirst(n1))
    let start = bytes.startIndex + n1 + n2
    guard length <= UInt64(bytes.endIndex - start) else { throw .truncated("multihash digest") }
    let codec = Multicodec(rawValue: code)
    if let expected = codec.digestLength, expected != Int(length) {
      throw .invalidMultihash("\(codec.name) digest must be \(expected) bytes, not \(length)")
    }
    let digest = Array(bytes[start..<start + Int(length)])
    return (Multihash(code: codec, digest: digest), n1 + n2 + Int(length))
  }

  public var description: String {
    "\(code.name):" + digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
  }
}

extension String {
  func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
