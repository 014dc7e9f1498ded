/// A deliberately simple reference implementation of `Fr` arithmetic on canonical (non-Montgomery) values:
/// modular addition by add-then-subtract and multiplication by binary shift-and-add. Hundreds of times slower than
/// `Fr`; used only to cross-check the Montgomery code in tests and as the baseline in benchmarks.
public enum NaiveField {
  /// A canonical value as little-endian limbs.
  public typealias Value = (UInt64, UInt64, UInt64, UInt64)

  static let p: Value = Fr.P

  /// `a + b mod p` for canonical inputs.
  public static func add(_ a: Value, _ b: Value) -> Value {
    var r: [UInt64] = [a.0, a.1, a.2, a.3]
    let bb: [UInt64] = [b.0, b.1, b.2, b.3]
    var carry: UInt64 = 0
    for i in 0..<4 {
      let (s1, o1) = r[i].addingReportingOverflow(bb[i])
      let (s2, o2) = s1.addingReportingOverflow(carry)
      r[i] = s2
      carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
    }
    return subtractModulusIfNeeded((r[0], r[1], r[2], r[3]))
  }

  static func subtractModulusIfNeeded(_ a: Value) -> Value {
    if Fr.isBelowModulus(a.0, a.1, a.2, a.3) { return a }
    let x: [UInt64] = [a.0, a.1, a.2, a.3]
    let m: [UInt64] = [p.0, p.1, p.2, p.3]
    var r = [UInt64](repeating: 0, count: 4)
    var borrow: UInt64 = 0
    for i in 0..<4 {
      let (d1, o1) = x[i].subtractingReportingOverflow(m[i])
      let (d2, o2) = d1.subtractingReportingOverflow(borrow)
      r[i] = d2
      borrow = (o1 || o2) ? 1 : 0
    }
    return (r[0], r[1], r[2], r[3])
  }

  /// `a·b mod p` by shift-and-add over the bits of `b`, most significant first.
  public static func mul(_ a: Value, _ b: Value) -> Value {
    var r: Value = (0, 0, 0, 0)
    for limb in [b.3, b.2, b.1, b.0] {
      for bit in stride(from: 63, through: 0, by: -1) {
        r = add(r, r)
        if (limb >> UInt64(bit)) & 1 == 1 { r = add(r, a) }
      }
    }
    return r
  }

  /// `a·b` through the reference multiplication.
  public static func mul(_ a: Fr, _ b: Fr) -> Fr {
    let v = mul(a.canonicalLimbs, b.canonicalLimbs)
    return Fr(reducedLimbs: v.0, v.1, v.2, v.3)
  }

  /// The Poseidon2 permutation written directly from the specification with the reference arithmetic.
  public static func permutation(_ x: Fr, _ y: Fr, _ z: Fr) -> (Fr, Fr, Fr) {
    var s: [Value] = [x.canonicalLimbs, y.canonicalLimbs, z.canonicalLimbs]
    func pow5(_ v: Value) -> Value { mul(mul(mul(v, v), mul(v, v)), v) }
    func external() {
      let t = add(add(s[0], s[1]), s[2])
      for i in 0..<3 { s[i] = add(s[i], t) }
    }
    let ext = Poseidon2Constants.external.map(\.canonicalLimbs)
    let int = Poseidon2Constants.internal.map(\.canonicalLimbs)
    external()
    for r in 0..<8 {
      if r == 4 {
        for j in 0..<56 {
          s[0] = pow5(add(s[0], int[j]))
          let t = add(add(s[0], s[1]), s[2])
          s[0] = add(s[0], t)
          s[1] = add(s[1], t)
          s[2] = add(add(s[2], s[2]), t)
        }
      }
      for i in 0..<3 { s[i] = pow5(add(s[i], ext[3 * r + i])) }
      external()
    }
    return (
      Fr(reducedLimbs: s[0].0, s[0].1, s[0].2, s[0].3), Fr(reducedLimbs: s[1].0, s[1].1, s[1].2, s[1].3),
      Fr(reducedLimbs: s[2].0, s[2].1, s[2].2, s[2].3)
    )
  }
}
