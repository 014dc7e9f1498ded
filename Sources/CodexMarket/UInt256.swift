/// An unsigned 256-bit integer stored as four `UInt64` limbs, least significant first.
///
/// Arithmetic operators `+ - * / %` trap on overflow or division by zero, like Swift's integers; the
/// `…ReportingOverflow` methods and `&+ &- &*` wrap. Parsing (`init?(decimal:)`, `init?(hex:)`,
/// `init?(bigEndian:)`) never traps: it returns nil on bad or out-of-range input.
public struct UInt256: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
  /// Limbs, least significant first.
  public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

  public static let zero = UInt256(0)
  public static let one = UInt256(1)
  public static let max = UInt256(w0: .max, w1: .max, w2: .max, w3: .max)

  @inlinable public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
    self.w0 = w0
    self.w1 = w1
    self.w2 = w2
    self.w3 = w3
  }
  @inlinable public init(_ v: UInt64) { self.init(w0: v, w1: 0, w2: 0, w3: 0) }
  @inlinable public init(integerLiteral v: UInt64) { self.init(v) }
  /// Nil for negative values.
  public init?(exactly v: Int) {
    guard v >= 0 else { return nil }
    self.init(UInt64(v))
  }

  /// From up to 32 big-endian bytes; nil when longer than 32 bytes (leading zero bytes are allowed).
  public init?(bigEndian bytes: some Collection<UInt8>) {
    var b = Array(bytes)
    while b.count > 32, b.first == 0 { b.removeFirst() }
    guard b.count <= 32 else { return nil }
    var limbs: [UInt64] = [0, 0, 0, 0]
    for (i, byte) in b.reversed().enumerated() { limbs[i / 8] |= UInt64(byte) << (8 * UInt64(i % 8)) }
    self.init(w0: limbs[0], w1: limbs[1], w2: limbs[2], w3: limbs[3])
  }

  /// Parses a decimal string (digits only, optional `_` separators are not accepted); nil on overflow or garbage.
  public init?(decimal text: String) {
    guard !text.isEmpty else { return nil }
    var v = UInt256.zero
    for c in text.utf8 {
      guard c >= 0x30, c <= 0x39 else { return nil }
      let (m, o1) = v.multipliedReportingOverflow(by: 10)
      let (s, o2) = m.addingReportingOverflow(UInt256(UInt64(c - 0x30)))
      guard !o1, !o2 else { return nil }
      v = s
    }
    self = v
  }

  /// Parses hex with or without `0x` (at most 64 significant digits); nil on garbage or overflow.
  public init?(hex text: String) {
    var utf8 = Substring(text).utf8[...]
    if utf8.starts(with: "0x".utf8) || utf8.starts(with: "0X".utf8) { utf8 = utf8.dropFirst(2) }
    guard !utf8.isEmpty else { return nil }
    var v = UInt256.zero
    for c in utf8 {
      guard let n = Hex.nibble(c) else { return nil }
      guard v.w3 >> 60 == 0 else { return nil }
      v = (v << 4) | UInt256(UInt64(n))
    }
    self = v
  }

  /// The value as 32 big-endian bytes.
  public var bigEndianBytes: [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    let limbs = [w3, w2, w1, w0]
    for (li, limb) in limbs.enumerated() {
      for b in 0..<8 { out[li * 8 + b] = UInt8(truncatingIfNeeded: limb >> (8 * UInt64(7 - b))) }
    }
    return out
  }

  /// Big-endian bytes without leading zeros (empty for zero), as RLP encodes integers.
  public var minimalBigEndianBytes: [UInt8] { Array(bigEndianBytes.drop(while: { $0 == 0 })) }

  /// `0x`-prefixed hex without leading zeros (`0x0` for zero): the JSON-RPC "quantity" format.
  public var hexQuantity: String {
    let h = Hex.encode(minimalBigEndianBytes, prefix: false)
    let trimmed = h.drop(while: { $0 == "0" })
    return "0x" + (trimmed.isEmpty ? "0" : String(trimmed))
  }

  public var isZero: Bool { (w0 | w1 | w2 | w3) == 0 }

  /// The value if it fits in 64 bits.
  public var uint64Value: UInt64? { (w1 | w2 | w3) == 0 ? w0 : nil }

  public var leadingZeroBitCount: Int {
    if w3 != 0 { return w3.leadingZeroBitCount }
    if w2 != 0 { return 64 + w2.leadingZeroBitCount }
    if w1 != 0 { return 128 + w1.leadingZeroBitCount }
    return 192 + w0.leadingZeroBitCount
  }

  /// Decimal text.
  public var description: String {
    if isZero { return "0" }
    var parts: [UInt64] = []
    var v = self
    while !v.isZero {
      let (q, r) = v.quotientAndRemainder(dividingBy64: 10_000_000_000_000_000_000)
      parts.append(r)
      v = q
    }
    var text = String(parts.removeLast())
    for part in parts.reversed() {
      let digits = String(part)
      text += String(repeating: "0", count: 19 - digits.count) + digits
    }
    return text
  }

  // MARK: comparison and bit operations

  @inlinable public static func < (a: UInt256, b: UInt256) -> Bool {
    if a.w3 != b.w3 { return a.w3 < b.w3 }
    if a.w2 != b.w2 { return a.w2 < b.w2 }
    if a.w1 != b.w1 { return a.w1 < b.w1 }
    return a.w0 < b.w0
  }
  @inlinable public static func & (a: UInt256, b: UInt256) -> UInt256 {
    UInt256(w0: a.w0 & b.w0, w1: a.w1 & b.w1, w2: a.w2 & b.w2, w3: a.w3 & b.w3)
  }
  @inlinable public static func | (a: UInt256, b: UInt256) -> UInt256 {
    UInt256(w0: a.w0 | b.w0, w1: a.w1 | b.w1, w2: a.w2 | b.w2, w3: a.w3 | b.w3)
  }
  @inlinable public static func ^ (a: UInt256, b: UInt256) -> UInt256 {
    UInt256(w0: a.w0 ^ b.w0, w1: a.w1 ^ b.w1, w2: a.w2 ^ b.w2, w3: a.w3 ^ b.w3)
  }
  @inlinable public static prefix func ~ (a: UInt256) -> UInt256 { UInt256(w0: ~a.w0, w1: ~a.w1, w2: ~a.w2, w3: ~a.w3) }

  /// Logical left shift; shifts of 256 or more give zero.
  public static func << (a: UInt256, n: Int) -> UInt256 {
    if n <= 0 { return n == 0 ? a : a >> -n }
    if n >= 256 { return .zero }
    var l = [a.w0, a.w1, a.w2, a.w3]
    var r: [UInt64] = [0, 0, 0, 0]
    let ws = n / 64
    let bs = UInt64(n % 64)
    for i in stride(from: 3, through: ws, by: -1) {
      r[i] = l[i - ws] << bs
      if bs > 0 && i - ws - 1 >= 0 { r[i] |= l[i - ws - 1] >> (64 - bs) }
    }
    l = r
    return UInt256(w0: l[0], w1: l[1], w2: l[2], w3: l[3])
  }
  /// Logical right shift; shifts of 256 or more give zero.
  public static func >> (a: UInt256, n: Int) -> UInt256 {
    if n <= 0 { return n == 0 ? a : a << -n }
    if n >= 256 { return .zero }
    let l = [a.w0, a.w1, a.w2, a.w3]
    var r: [UInt64] = [0, 0, 0, 0]
    let ws = n / 64
    let bs = UInt64(n % 64)
    for i in 0..<(4 - ws) {
      r[i] = l[i + ws] >> bs
      if bs > 0 && i + ws + 1 < 4 { r[i] |= l[i + ws + 1] << (64 - bs) }
    }
    return UInt256(w0: r[0], w1: r[1], w2: r[2], w3: r[3])
  }

  // MARK: arithmetic

  @inlinable public func addingReportingOverflow(_ b: UInt256) -> (partialValue: UInt256, overflow: Bool) {
    let (s0, c0) = w0.addingReportingOverflow(b.w0)
    var (s1, c1) = w1.addingReportingOverflow(b.w1)
    var c1b = false
    if c0 { (s1, c1b) = s1.addingReportingOverflow(1) }
    var (s2, c2) = w2.addingReportingOverflow(b.w2)
    var c2b = false
    if c1 || c1b { (s2, c2b) = s2.addingReportingOverflow(1) }
    var (s3, c3) = w3.addingReportingOverflow(b.w3)
    var c3b = false
    if c2 || c2b { (s3, c3b) = s3.addingReportingOverflow(1) }
    return (UInt256(w0: s0, w1: s1, w2: s2, w3: s3), c3 || c3b)
  }

  @inlinable public func subtractingReportingOverflow(_ b: UInt256) -> (partialValue: UInt256, overflow: Bool) {
    let (d0, b0) = w0.subtractingReportingOverflow(b.w0)
    var (d1, b1) = w1.subtractingReportingOverflow(b.w1)
    var b1b = false
    if b0 { (d1, b1b) = d1.subtractingReportingOverflow(1) }
    var (d2, b2) = w2.subtractingReportingOverflow(b.w2)
    var b2b = false
    if b1 || b1b { (d2, b2b) = d2.subtractingReportingOverflow(1) }
    var (d3, b3) = w3.subtractingReportingOverflow(b.w3)
    var b3b = false
    if b2 || b2b { (d3, b3b) = d3.subtractingReportingOverflow(1) }
    return (UInt256(w0: d0, w1: d1, w2: d2, w3: d3), b3 || b3b)
  }

  /// Schoolbook 4×4-limb multiplication, truncated to 256 bits; `overflow` is set if any high product was lost.
  public func multipliedReportingOverflow(by b: UInt256) -> (partialValue: UInt256, overflow: Bool) {
    let x = [w0, w1, w2, w3]
    let y = [b.w0, b.w1, b.w2, b.w3]
    var r: [UInt64] = [0, 0, 0, 0, 0, 0, 0, 0]
    for i in 0..<4 {
      var carry: UInt64 = 0
      if x[i] == 0 { continue }
      for j in 0..<4 {
        let (hi, lo) = x[i].multipliedFullWidth(by: y[j])
        let (s1, c1) = lo.addingReportingOverflow(r[i + j])
        let (s2, c2) = s1.addingReportingOverflow(carry)
        r[i + j] = s2
        carry = hi &+ (c1 ? 1 : 0) &+ (c2 ? 1 : 0)
      }
      r[i + 4] = carry
    }
    let overflow = (r[4] | r[5] | r[6] | r[7]) != 0
    return (UInt256(w0: r[0], w1: r[1], w2: r[2], w3: r[3]), overflow)
  }

  /// Division by a 64-bit divisor (must be non-zero), limb by limb.
  public func quotientAndRemainder(dividingBy64 d: UInt64) -> (quotient: UInt256, remainder: UInt64) {
    precondition(d != 0, "division by zero")
    var rem: UInt64 = 0
    var q: [UInt64] = [0, 0, 0, 0]
    let limbs = [w0, w1, w2, w3]
    for i in stride(from: 3, through: 0, by: -1) {
      let (qq, rr) = d.dividingFullWidth((high: rem, low: limbs[i]))
      q[i] = qq
      rem = rr
    }
    return (UInt256(w0: q[0], w1: q[1], w2: q[2], w3: q[3]), rem)
  }

  /// Quotient and remainder; traps on division by zero.
  public func quotientAndRemainder(dividingBy d: UInt256) -> (quotient: UInt256, remainder: UInt256) {
    precondition(!d.isZero, "division by zero")
    if let small = d.uint64Value {
      let (q, r) = quotientAndRemainder(dividingBy64: small)
      return (q, UInt256(r))
    }
    if self < d { return (.zero, self) }
    // Binary long division starting at the highest set bit of the dividend.
    let shift = d.leadingZeroBitCount - leadingZeroBitCount
    var divisor = d << shift
    var rem = self
    var q = UInt256.zero
    for i in stride(from: shift, through: 0, by: -1) {
      if rem >= divisor {
        rem = rem.subtractingReportingOverflow(divisor).partialValue
        q = q | (UInt256.one << i)
      }
      divisor = divisor >> 1
    }
    return (q, rem)
  }

  public static func + (a: UInt256, b: UInt256) -> UInt256 {
    let (r, o) = a.addingReportingOverflow(b)
    precondition(!o, "UInt256 addition overflow")
    return r
  }
  public static func - (a: UInt256, b: UInt256) -> UInt256 {
    let (r, o) = a.subtractingReportingOverflow(b)
    precondition(!o, "UInt256 subtraction underflow")
    return r
  }
  public static func * (a: UInt256, b: UInt256) -> UInt256 {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    precondition(!o, "UInt256 multiplication overflow")
    return r
  }
  public static func / (a: UInt256, b: UInt256) -> UInt256 { a.quotientAndRemainder(dividingBy: b).quotient }
  public static func % (a: UInt256, b: UInt256) -> UInt256 { a.quotientAndRemainder(dividingBy: b).remainder }
  public static func &+ (a: UInt256, b: UInt256) -> UInt256 { a.addingReportingOverflow(b).partialValue }
  public static func &- (a: UInt256, b: UInt256) -> UInt256 { a.subtractingReportingOverflow(b).partialValue }
  public static func &* (a: UInt256, b: UInt256) -> UInt256 { a.multipliedReportingOverflow(by: b).partialValue }
  public static func += (a: inout UInt256, b: UInt256) { a = a + b }
  public static func -= (a: inout UInt256, b: UInt256) { a = a - b }
  public static func *= (a: inout UInt256, b: UInt256) { a = a * b }
}
