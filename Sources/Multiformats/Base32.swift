/// RFC 4648 base32, lower case, no padding (multibase prefix `b`).
public enum Base32 {
  static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

  /// Encodes bytes as lower-case base32 without padding.
  public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count * 8 + 4) / 5)
    var buffer: UInt32 = 0
    var bits = 0
    for byte in bytes {
      buffer = (buffer << 8) | UInt32(byte)
      bits += 8
      while bits >= 5 {
        bits -= 5
        out.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
      }
    }
    if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes base32 (either case, padding optional).
  public static func decode(_ text: some StringProtocol) throws(MultiformatsError) -> [UInt8] {
    var out: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    for c in text.utf8 {
      if c == UInt8(ascii: "=") { break }
      let v: UInt32
      switch c {
      case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a"))
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
      case UInt8(ascii: "2")...UInt8(ascii: "7"): v = UInt32(c - UInt8(ascii: "2")) + 26
      default: throw .invalidCharacter(base: "base32", character: Character(Unicode.Scalar(c)))
      }
      buffer = (buffer << 5) | v
      bits += 5
      if bits >= 8 {
        bits -= 8
        out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
      }
    }
    return out
  }
}
