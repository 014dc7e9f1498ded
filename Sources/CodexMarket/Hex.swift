/// Hexadecimal text helpers for Ethereum data (`0x`-prefixed, lower case on output).
public enum Hex {
  /// A hex text could not be parsed.
  public struct DecodeError: Error, Equatable, CustomStringConvertible {
    /// What was wrong with the text.
    public let reason: String
    public var description: String { "invalid hex: \(reason)" }
  }

  /// Encodes bytes as lower-case hex, with the `0x` prefix unless `prefix` is false.
  public static func encode(_ bytes: some Sequence<UInt8>, prefix: Bool = true) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = prefix ? [0x30, 0x78] : []
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes hex text with or without `0x`; an odd number of digits is accepted as if a leading `0` were present.
  public static func decode(_ text: String) throws(DecodeError) -> [UInt8] {
    var utf8 = Array(text.utf8)
    if utf8.count >= 2, utf8[0] == 0x30, utf8[1] == 0x78 || utf8[1] == 0x58 { utf8.removeFirst(2) }
    if utf8.count % 2 == 1 { utf8.insert(0x30, at: 0) }
    var out = [UInt8]()
    out.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
      guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else {
        throw DecodeError(reason: "non-hex character in \"\(text.prefix(80))\"")
      }
      out.append(hi << 4 | lo)
      i += 2
    }
    return out
  }

  @inline(__always)
  static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x61...0x66: return c - 0x61 + 10
    case 0x41...0x46: return c - 0x41 + 10
    default: return nil
    }
  }
}
