/// Hex text for test literals (known-good input: whitespace is skipped, a non-hex digit traps the test).
public enum TestHex {
  /// Bytes of a hex literal, with or without `0x`, whitespace ignored.
  public static func decode(_ text: String) -> [UInt8] {
    var digits = Array(text.utf8.filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D })
    if digits.count >= 2, digits[0] == 0x30, digits[1] == 0x78 { digits.removeFirst(2) }
    precondition(digits.count % 2 == 0, "odd number of hex digits in a test literal")
    var out = [UInt8]()
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
      out.append(nibble(digits[i]) << 4 | nibble(digits[i + 1]))
      i += 2
    }
    return out
  }

  /// Lower-case hex without a prefix.
  public static func encode(_ bytes: some Sequence<UInt8>) -> String {
    let table = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in bytes {
      out.append(table[Int(b >> 4)])
      out.append(table[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static func nibble(_ c: UInt8) -> UInt8 {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x61...0x66: return c - 0x61 + 10
    case 0x41...0x46: return c - 0x41 + 10
    default: preconditionFailure("non-hex character \(Character(Unicode.Scalar(c))) in a test literal")
    }
  }
}
