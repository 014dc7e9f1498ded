// Byte and text conversions for `Fr` (nim-poseidon2 `io.nim` conventions: little-endian, canonical).

extension Fr {
  /// Size of a canonical encoding.
  public static let byteCount = 32

  /// Reads a canonical 32-byte little-endian encoding.
  /// - Throws: `FieldError.wrongLength` unless exactly 32 bytes, `FieldError.nonCanonical` if the value is ≥ p.
  public init(bytes: some Collection<UInt8>) throws(FieldError) {
    guard bytes.count == 32 else { throw .wrongLength(expected: 32, actual: bytes.count) }
    var limbs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    for (i, byte) in bytes.enumerated() {
      let v = UInt64(byte) << UInt64(8 * (i & 7))
      switch i >> 3 {
      case 0: limbs.0 |= v
      case 1: limbs.1 |= v
      case 2: limbs.2 |= v
      default: limbs.3 |= v
      }
    }
    guard Fr.isBelowModulus(limbs.0, limbs.1, limbs.2, limbs.3) else { throw .nonCanonical }
    self.init(reducedLimbs: limbs.0, limbs.1, limbs.2, limbs.3)
  }

  /// Reads up to 31 bytes as a little-endian integer; always valid because 2^248 < p.
  /// - Throws: `FieldError.wrongLength` if more than 31 bytes are given.
  public init(shortBytes bytes: some Collection<UInt8>) throws(FieldError) {
    guard bytes.count <= 31 else { throw .wrongLength(expected: 31, actual: bytes.count) }
    var limbs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    for (i, byte) in bytes.enumerated() {
      let v = UInt64(byte) << UInt64(8 * (i & 7))
      switch i >> 3 {
      case 0: limbs.0 |= v
      case 1: limbs.1 |= v
      case 2: limbs.2 |= v
      default: limbs.3 |= v
      }
    }
    self.init(reducedLimbs: limbs.0, limbs.1, limbs.2, limbs.3)
  }

  /// Builds an element from its canonical value given as little-endian limbs.
  /// - Throws: `FieldError.nonCanonical` if the value is ≥ p.
  public init(canonicalLimbs l: (UInt64, UInt64, UInt64, UInt64)) throws(FieldError) {
    guard Fr.isBelowModulus(l.0, l.1, l.2, l.3) else { throw .nonCanonical }
    self.init(reducedLimbs: l.0, l.1, l.2, l.3)
  }

  /// The canonical 32-byte little-endian encoding (top two bits always zero).
  public var bytes: [UInt8] {
    let c = canonicalLimbs
    var out = [UInt8](repeating: 0, count: 32)
    for i in 0..<32 {
      let limb: UInt64
      switch i >> 3 {
      case 0: limb = c.0
      case 1: limb = c.1
      case 2: limb = c.2
      default: limb = c.3
      }
      out[i] = UInt8(truncatingIfNeeded: limb >> UInt64(8 * (i & 7)))
    }
    return out
  }

  /// Parses a decimal integer (leading zeros allowed) or a `0x`-prefixed big-endian hexadecimal integer.
  /// - Throws: `FieldError.invalidString` for an empty or malformed literal, `FieldError.nonCanonical` if ≥ p.
  public init(string: String) throws(FieldError) {
    let isHex = string.hasPrefix("0x") || string.hasPrefix("0X")
    let digits = isHex ? string.utf8.dropFirst(2) : string.utf8.dropFirst(0)
    guard !digits.isEmpty else { throw .invalidString(string) }
    let radix: UInt64 = isHex ? 16 : 10
    var limbs: [UInt64] = [0, 0, 0, 0]
    for ch in digits {
      let d: UInt64
      switch ch {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt64(ch - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f") where isHex: d = UInt64(ch - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F") where isHex: d = UInt64(ch - UInt8(ascii: "A") + 10)
      default: throw .invalidString(string)
      }
      var carry = d
      for i in 0..<4 {
        (carry, limbs[i]) = mulAdd(limbs[i], radix, carry)
      }
      if carry != 0 { throw .nonCanonical }  // ≥ 2^256
    }
    try self.init(canonicalLimbs: (limbs[0], limbs[1], limbs[2], limbs[3]))
  }

  /// The canonical value in decimal, without leading zeros.
  public var decimalString: String {
    let c = canonicalLimbs
    var limbs: [UInt64] = [c.0, c.1, c.2, c.3]
    var chunks: [UInt64] = []  // base 10^19, least significant first
    let base: UInt64 = 10_000_000_000_000_000_000
    while limbs.contains(where: { $0 != 0 }) {
      var rem: UInt64 = 0
      for i in stride(from: 3, through: 0, by: -1) {
        let (q, r) = base.dividingFullWidth((rem, limbs[i]))
        limbs[i] = q
        rem = r
      }
      chunks.append(rem)
    }
    guard let top = chunks.last else { return "0" }
    var s = String(top)
    for chunk in chunks.dropLast().reversed() {
      let part = String(chunk)
      s += String(repeating: "0", count: 19 - part.count) + part
    }
    return s
  }

  /// The canonical value as `0x` + 64 big-endian hexadecimal digits.
  public var hexString: String {
    let c = canonicalLimbs
    var s = "0x"
    for limb in [c.3, c.2, c.1, c.0] {
      let h = String(limb, radix: 16)
      s += String(repeating: "0", count: 16 - h.count) + h
    }
    return s
  }
}

extension Fr: CustomStringConvertible {
  /// The decimal value.
  public var description: String { decimalString }
}

extension Fr: ExpressibleByIntegerLiteral {
  public init(integerLiteral value: UInt64) { self.init(value) }
}

extension Fr: Codable {
  /// Decodes a decimal (or `0x` hex) string, or a non-negative JSON integer, as circom input files use.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let n = try? container.decode(UInt64.self) {
      self.init(n)
      return
    }
    self = try Fr(string: container.decode(String.self))
  }

  /// Encodes the decimal string.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(decimalString)
  }
}
