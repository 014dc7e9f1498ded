/// RFC 4648 §5 base64url (multibase prefix `u`; the `spr:` text form of signed peer records).
public enum Base64URL {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

  /// Encodes bytes; without padding unless `padded` is true.
  public static func encode<C: Collection>(_ bytes: C, padded: Bool = false) -> String where C.Element == UInt8 {
    let input = Array(bytes)
    var out: [UInt8] = []
    out.reserveCapacity((input.count + 2) / 3 * 4)
    var i = 0
    while i + 3 <= input.count {
      let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
      out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
      i += 3
    }
    let rest = input.count - i
    if rest == 1 {
      let n = UInt32(input[i]) << 16
      out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
      if padded { out += [61, 61] }
    } else if rest == 2 {
      let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
      out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
      if padded { out.append(61) }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes base64url, with or without padding. Standard base64's `+` and `/` are also accepted.
  public static func decode(_ text: some StringProtocol) throws(MultiformatsError) -> [UInt8] {
    var out: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    for c in text.utf8 {
      let v: UInt32
      switch c {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
      case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
      case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
      case UInt8(ascii: "-"), UInt8(ascii: "+"): v = 62
      case UInt8(ascii: "_"), UInt8(ascii: "/"): v = 63
      case UInt8(ascii: "="): continue
      default: throw .invalidCharacter(base: "base64url", character: Character(Unicode.Scalar(c)))
      }
      buffer = (buffer << 6) | v
      bits += 6
      if bits >= 8 {
        bits -= 8
        out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
      }
    }
    if bits >= 6 { throw .truncated("base64url (a lone trailing character)") }
    return out
  }
}
