// Field arithmetic for `Fr`: addition, subtraction, Montgomery multiplication, powers and inversion.

/// `a·b + c` as a 128-bit value `(high, low)`; cannot overflow.
@inlinable @inline(__always)
func mulAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> (UInt64, UInt64) {
  let r = UInt128(a) &* UInt128(b) &+ UInt128(c)
  return (UInt64(truncatingIfNeeded: r &>> 64), UInt64(truncatingIfNeeded: r))
}

/// `a·b + c + d` as a 128-bit value `(high, low)`; cannot overflow.
@inlinable @inline(__always)
func mulAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> (UInt64, UInt64) {
  let r = UInt128(a) &* UInt128(b) &+ UInt128(c) &+ UInt128(d)
  return (UInt64(truncatingIfNeeded: r &>> 64), UInt64(truncatingIfNeeded: r))
}

extension Fr {
  /// Subtracts `p` once if the 256-bit value `t` is ≥ `p`. Requires `t < 2p`. Branch-free (the outcome is
  /// data-dependent and would mispredict about half the time).
  @inlinable @inline(__always)
  static func reduceOnce(_ t0: UInt64, _ t1: UInt64, _ t2: UInt64, _ t3: UInt64) -> Fr {
    let p = Fr.P
    var borrow: UInt64
    borrow = 0
    let (d0, _) = sbb(t0, p.0, &borrow)
    let (d1, _) = sbb(t1, p.1, &borrow)
    let (d2, _) = sbb(t2, p.2, &borrow)
    let (d3, _) = sbb(t3, p.3, &borrow)
    // borrow = 1 means t < p: keep t.
    let keep = 0 &- borrow
    return Fr(
      montgomery: (t0 & keep) | (d0 & ~keep), (t1 & keep) | (d1 & ~keep), (t2 & keep) | (d2 & ~keep),
      (t3 & keep) | (d3 & ~keep))
  }

  /// `a − b − borrow`, updating `borrow` (0 or 1).
  @inlinable @inline(__always)
  static func sbb(_ a: UInt64, _ b: UInt64, _ borrow: inout UInt64) -> (UInt64, Bool) {
    let r = UInt128(a) &- UInt128(b) &- UInt128(borrow)
    borrow = UInt64(truncatingIfNeeded: r &>> 64) & 1
    return (UInt64(truncatingIfNeeded: r), borrow == 1)
  }

  /// `a + b + carry`, updating `carry` (0 or 1).
  @inlinable @inline(__always)
  static func adc(_ a: UInt64, _ b: UInt64, _ carry: inout UInt64) -> UInt64 {
    let r = UInt128(a) &+ UInt128(b) &+ UInt128(carry)
    carry = UInt64(truncatingIfNeeded: r &>> 64)
    return UInt64(truncatingIfNeeded: r)
  }

  /// One outer iteration of CIOS Montgomery multiplication: `t = (t + a·bi + m·p) / 2^64` with `m` chosen so the
  /// division is exact. Uses that the top limb of `p` leaves two spare bits, so no extra carry word is needed.
  @inlinable @inline(__always)
  static func montgomeryStep(
    _ a: Fr, _ bi: UInt64, _ t0: inout UInt64, _ t1: inout UInt64, _ t2: inout UInt64, _ t3: inout UInt64
  ) {
    let p = P
    var carryA: UInt64
    var carryC: UInt64
    var u0: UInt64
    (carryA, u0) = mulAdd(a.l0, bi, t0)
    let m = u0 &* pInv
    (carryC, _) = mulAdd(m, p.0, u0)
    var u1: UInt64
    (carryA, u1) = mulAdd(a.l1, bi, t1, carryA)
    (carryC, t0) = mulAdd(m, p.1, u1, carryC)
    var u2: UInt64
    (carryA, u2) = mulAdd(a.l2, bi, t2, carryA)
    (carryC, t1) = mulAdd(m, p.2, u2, carryC)
    var u3: UInt64
    (carryA, u3) = mulAdd(a.l3, bi, t3, carryA)
    (carryC, t2) = mulAdd(m, p.3, u3, carryC)
    t3 = carryC &+ carryA
    _ = (u1, u2, u3)
  }

  /// Montgomery product `a·b·2^-256 mod p` (CIOS).
  @inlinable @inline(__always)
  static func montgomeryMultiply(_ a: Fr, _ b: Fr) -> Fr {
    var t0: UInt64 = 0
    var t1: UInt64 = 0
    var t2: UInt64 = 0
    var t3: UInt64 = 0
    montgomeryStep(a, b.l0, &t0, &t1, &t2, &t3)
    montgomeryStep(a, b.l1, &t0, &t1, &t2, &t3)
    montgomeryStep(a, b.l2, &t0, &t1, &t2, &t3)
    montgomeryStep(a, b.l3, &t0, &t1, &t2, &t3)
    return reduceOnce(t0, t1, t2, t3)
  }

  /// One Montgomery reduction round on the 8-limb accumulator: adds `m·p·2^(64·i)` so limb `i` becomes zero, and
  /// propagates the carry to the top (the total stays below 2^512 because the input is below p·2^256).
  @inlinable @inline(__always)
  static func reduceRound(
    _ ri: UInt64, _ r1: inout UInt64, _ r2: inout UInt64, _ r3: inout UInt64, _ r4: inout UInt64,
    _ carryIn: inout UInt64
  ) {
    let p = P
    let m = ri &* pInv
    var c: UInt64
    (c, _) = mulAdd(m, p.0, ri)
    (c, r1) = mulAdd(m, p.1, r1, c)
    (c, r2) = mulAdd(m, p.2, r2, c)
    (c, r3) = mulAdd(m, p.3, r3, c)
    // r4 += c + carryIn; the new carry goes to the next round's top limb.
    let t = UInt128(r4) &+ UInt128(c) &+ UInt128(carryIn)
    r4 = UInt64(truncatingIfNeeded: t)
    carryIn = UInt64(truncatingIfNeeded: t &>> 64)
  }

  /// Montgomery square `a²·2^-256 mod p`: the cross products are computed once and doubled.
  @inlinable @inline(__always)
  static func montgomerySquare(_ a: Fr) -> Fr {
    var c: UInt64
    var r0: UInt64
    var r1: UInt64
    var r2: UInt64
    var r3: UInt64
    var r4: UInt64
    var r5: UInt64
    var r6: UInt64
    var r7: UInt64
    // Cross products a_i·a_j (i < j) at limb i + j.
    (c, r1) = mulAdd(a.l0, a.l1, 0)
    (c, r2) = mulAdd(a.l0, a.l2, c)
    (r4, r3) = mulAdd(a.l0, a.l3, c)
    (c, r3) = mulAdd(a.l1, a.l2, r3)
    (r5, r4) = mulAdd(a.l1, a.l3, r4, c)
    (r6, r5) = mulAdd(a.l2, a.l3, r5)
    // Double.
    r7 = r6 >> 63
    r6 = (r6 << 1) | (r5 >> 63)
    r5 = (r5 << 1) | (r4 >> 63)
    r4 = (r4 << 1) | (r3 >> 63)
    r3 = (r3 << 1) | (r2 >> 63)
    r2 = (r2 << 1) | (r1 >> 63)
    r1 = r1 << 1
    // Add the squares a_i² at limb 2i.
    var h: UInt64
    var carry: UInt64 = 0
    (h, r0) = mulAdd(a.l0, a.l0, 0)
    r1 = adc(r1, h, &carry)
    var l: UInt64
    (h, l) = mulAdd(a.l1, a.l1, 0)
    r2 = adc(r2, l, &carry)
    r3 = adc(r3, h, &carry)
    (h, l) = mulAdd(a.l2, a.l2, 0)
    r4 = adc(r4, l, &carry)
    r5 = adc(r5, h, &carry)
    (h, l) = mulAdd(a.l3, a.l3, 0)
    r6 = adc(r6, l, &carry)
    r7 = r7 &+ h &+ carry
    // Four reduction rounds; round i's carry out lands at limb i + 5, exactly where round i + 1 adds its own.
    var top: UInt64 = 0
    reduceRound(r0, &r1, &r2, &r3, &r4, &top)
    reduceRound(r1, &r2, &r3, &r4, &r5, &top)
    reduceRound(r2, &r3, &r4, &r5, &r6, &top)
    reduceRound(r3, &r4, &r5, &r6, &r7, &top)
    // a² + m·p < p² + 2^256·p < 2^512, so `top` ends at zero and r4…r7 is below 2p.
    return reduceOnce(r4, r5, r6, r7)
  }

  /// Field addition.
  @inlinable @inline(__always)
  public static func + (a: Fr, b: Fr) -> Fr {
    // Both operands are < p < 2^254, so the sum fits in 256 bits.
    var carry: UInt64 = 0
    let s0 = adc(a.l0, b.l0, &carry)
    let s1 = adc(a.l1, b.l1, &carry)
    let s2 = adc(a.l2, b.l2, &carry)
    let s3 = a.l3 &+ b.l3 &+ carry
    return reduceOnce(s0, s1, s2, s3)
  }

  /// Field subtraction.
  @inlinable @inline(__always)
  public static func - (a: Fr, b: Fr) -> Fr {
    var borrow: UInt64 = 0
    let (d0, _) = sbb(a.l0, b.l0, &borrow)
    let (d1, _) = sbb(a.l1, b.l1, &borrow)
    let (d2, _) = sbb(a.l2, b.l2, &borrow)
    let (d3, _) = sbb(a.l3, b.l3, &borrow)
    // If it wrapped below zero add p back (the carry out cancels the borrow); branch-free via a mask.
    let mask = 0 &- borrow
    let p = Fr.P
    var carry: UInt64 = 0
    let e0 = adc(d0, p.0 & mask, &carry)
    let e1 = adc(d1, p.1 & mask, &carry)
    let e2 = adc(d2, p.2 & mask, &carry)
    let e3 = d3 &+ (p.3 & mask) &+ carry
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
  public func square() -> Fr { Fr.montgomerySquare(self) }

  /// `2·self`.
  @inlinable @inline(__always)
  public func doubled() -> Fr { self + self }

  /// `self⁵`, the Poseidon2 S-box.
  @inlinable @inline(__always)
  public func pow5() -> Fr {
    let x2 = Fr.montgomerySquare(self)
    let x4 = Fr.montgomerySquare(x2)
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
