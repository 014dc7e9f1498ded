// Field arithmetic for `Fr`: addition, subtraction, Montgomery multiplication, powers and inversion.

/// `a·b + c` as a 128-bit value `(high, low)`; cannot overflow.
@inlinable @inline(__always)
func mulAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> (UInt64, UInt64) {
  let (h, l) = a.multipliedFullWidth(by: b)
  let (s, o) = l.addingReportingOverflow(c)
  return (h &+ (o ? 1 : 0), s)
}

/// `a·b + c + d` as a 128-bit value `(high, low)`; cannot overflow.
@inlinable @inline(__always)
func mulAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> (UInt64, UInt64) {
  let (h, l) = a.multipliedFullWidth(by: b)
  let (s1, o1) = l.addingReportingOverflow(c)
  let (s2, o2) = s1.addingReportingOverflow(d)
  return (h &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0), s2)
}

extension Fr {
  /// Subtracts `p` once if the 256-bit value `t` is ≥ `p`. Requires `t < 2p`.
  @inlinable @inline(__always)
  static func reduceOnce(_ t0: UInt64, _ t1: UInt64, _ t2: UInt64, _ t3: UInt64) -> Fr {
    let (d0, b0) = t0.subtractingReportingOverflow(P.0)
    let (d1a, b1a) = t1.subtractingReportingOverflow(P.1)
    let (d1, b1b) = d1a.subtractingReportingOverflow(b0 ? 1 : 0)
    let (d2a, b2a) = t2.subtractingReportingOverflow(P.2)
    let (d2, b2b) = d2a.subtractingReportingOverflow((b1a || b1b) ? 1 : 0)
    let (d3a, b3a) = t3.subtractingReportingOverflow(P.3)
    let (d3, b3b) = d3a.subtractingReportingOverflow((b2a || b2b) ? 1 : 0)
    if b3a || b3b { return Fr(montgomery: t0, t1, t2, t3) }
    return Fr(montgomery: d0, d1, d2, d3)
  }

  /// Montgomery product `a·b·2^-256 mod p` (CIOS, using that the top limb of `p` leaves two spare bits so the
  /// running sum never needs an extra carry word).
  @inlinable @inline(__always)
  static func montgomeryMultiply(_ a: Fr, _ b: Fr) -> Fr {
    var t0: UInt64 = 0
    var t1: UInt64 = 0
    var t2: UInt64 = 0
    var t3: UInt64 = 0
    @inline(__always) func step(_ bi: UInt64) {
      var carryA: UInt64
      var carryC: UInt64
      (carryA, t0) = mulAdd(a.l0, bi, t0)
      let m = t0 &* pInv
      (carryC, _) = mulAdd(m, P.0, t0)
      (carryA, t1) = mulAdd(a.l1, bi, t1, carryA)
      (carryC, t0) = mulAdd(m, P.1, t1, carryC)
      (carryA, t2) = mulAdd(a.l2, bi, t2, carryA)
      (carryC, t1) = mulAdd(m, P.2, t2, carryC)
      (carryA, t3) = mulAdd(a.l3, bi, t3, carryA)
      (carryC, t2) = mulAdd(m, P.3, t3, carryC)
      t3 = carryC &+ carryA
    }
    step(b.l0)
    step(b.l1)
    step(b.l2)
    step(b.l3)
    return reduceOnce(t0, t1, t2, t3)
  }

  /// Field addition.
  @inlinable @inline(__always)
  public static func + (a: Fr, b: Fr) -> Fr {
    // Both operands are < p < 2^254, so the sum fits in 256 bits.
    let (s0, c0) = a.l0.addingReportingOverflow(b.l0)
    let (s1a, c1a) = a.l1.addingReportingOverflow(b.l1)
    let (s1, c1b) = s1a.addingReportingOverflow(c0 ? 1 : 0)
    let (s2a, c2a) = a.l2.addingReportingOverflow(b.l2)
    let (s2, c2b) = s2a.addingReportingOverflow((c1a || c1b) ? 1 : 0)
    let s3 = a.l3 &+ b.l3 &+ ((c2a || c2b) ? 1 : 0)
    return reduceOnce(s0, s1, s2, s3)
  }

  /// Field subtraction.
  @inlinable @inline(__always)
  public static func - (a: Fr, b: Fr) -> Fr {
    let (d0, b0) = a.l0.subtractingReportingOverflow(b.l0)
    let (d1a, b1a) = a.l1.subtractingReportingOverflow(b.l1)
    let (d1, b1b) = d1a.subtractingReportingOverflow(b0 ? 1 : 0)
    let (d2a, b2a) = a.l2.subtractingReportingOverflow(b.l2)
    let (d2, b2b) = d2a.subtractingReportingOverflow((b1a || b1b) ? 1 : 0)
    let (d3a, b3a) = a.l3.subtractingReportingOverflow(b.l3)
    let (d3, b3b) = d3a.subtractingReportingOverflow((b2a || b2b) ? 1 : 0)
    if !(b3a || b3b) { return Fr(montgomery: d0, d1, d2, d3) }
    // Wrapped below zero: add p back (the carry out cancels the borrow).
    let (e0, c0) = d0.addingReportingOverflow(P.0)
    let (e1a, c1a) = d1.addingReportingOverflow(P.1)
    let (e1, c1b) = e1a.addingReportingOverflow(c0 ? 1 : 0)
    let (e2a, c2a) = d2.addingReportingOverflow(P.2)
    let (e2, c2b) = e2a.addingReportingOverflow((c1a || c1b) ? 1 : 0)
    let e3 = d3 &+ P.3 &+ ((c2a || c2b) ? 1 : 0)
    return Fr(montgomery: e0, e1, e2, e3)
  }

  /// Additive inverse.
  @inlinable
  public static prefix func - (a: Fr) -> Fr { Fr.zero - a }

  /// Field multiplication.
  @inlinable @inline(__always)
  public static func * (a: Fr, b: Fr) -> Fr { montgomeryMultiply(a, b) }

  @inlinable @inline(__always)
  public static func += (a: inout Fr, b: Fr) { a = a + b }

  @inlinable @inline(__always)
  public static func -= (a: inout Fr, b: Fr) { a = a - b }

  @inlinable @inline(__always)
  public static func *= (a: inout Fr, b: Fr) { a = montgomeryMultiply(a, b) }

  /// `self²`.
  @inlinable @inline(__always)
  public func square() -> Fr { Fr.montgomeryMultiply(self, self) }

  /// `2·self`.
  @inlinable @inline(__always)
  public func doubled() -> Fr { self + self }

  /// `self⁵`, the Poseidon2 S-box.
  @inlinable @inline(__always)
  public func pow5() -> Fr {
    let x2 = Fr.montgomeryMultiply(self, self)
    let x4 = Fr.montgomeryMultiply(x2, x2)
    return Fr.montgomeryMultiply(x4, self)
  }

  /// `self^e` for an exponent given as little-endian 64-bit limbs (square-and-multiply; not constant time).
  public func power(_ exponent: [UInt64]) -> Fr {
    var result = Fr.one
    for limb in exponent.reversed() {
      for bit in stride(from: 63, through: 0, by: -1) {
        result = result.square()
        if (limb >> UInt64(bit)) & 1 == 1 { result = result * self }
      }
    }
    return result
  }

  /// `self^e`.
  public func power(_ exponent: UInt64) -> Fr { power([exponent]) }

  /// The multiplicative inverse (`self^(p−2)`), or `nil` for zero.
  public func inverse() -> Fr? {
    if isZero { return nil }
    return power([Fr.P.0 &- 2, Fr.P.1, Fr.P.2, Fr.P.3])
  }
}
