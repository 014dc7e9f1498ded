/// An element of the BN254 (alt_bn128) scalar field
/// `p = 21888242871839275222246405745257275088548364400416034343698204186575808495617`.
///
/// The value is held in Montgomery form (`a·2^256 mod p`) in four little-endian 64-bit limbs and is always fully
/// reduced, so equality of representations is equality of field elements. All arithmetic is constant-size,
/// allocation-free and uses only `multipliedFullWidth` / `addingReportingOverflow`.
@frozen
public struct Fr: Sendable, Hashable {
  @usableFromInline var l0: UInt64
  @usableFromInline var l1: UInt64
  @usableFromInline var l2: UInt64
  @usableFromInline var l3: UInt64

  /// Wraps limbs that are already in Montgomery form and reduced below `p`.
  @inlinable @inline(__always)
  init(montgomery l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) {
    self.l0 = l0
    self.l1 = l1
    self.l2 = l2
    self.l3 = l3
  }

  /// Builds the element whose canonical value has the given little-endian limbs. The limbs must encode a value
  /// below `p` (callers check); the result is converted into Montgomery form.
  @inlinable @inline(__always)
  init(reducedLimbs l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) {
    let r2 = Fr.r2
    self = Fr.montgomeryMultiply(Fr(montgomery: l0, l1, l2, l3), r2)
  }

  /// The ordinary embedding of an unsigned integer (`toF(n)`).
  @inlinable
  public init(_ value: UInt64) {
    self.init(reducedLimbs: value, 0, 0, 0)
  }

  /// The additive identity.
  @inlinable public static var zero: Fr { @inline(__always) get { Fr(montgomery: 0, 0, 0, 0) } }
  /// The multiplicative identity.
  @inlinable public static var one: Fr { @inline(__always) get { Fr(montgomery: R.0, R.1, R.2, R.3) } }

  /// `true` iff this is the zero element.
  @inlinable
  public var isZero: Bool { (l0 | l1 | l2 | l3) == 0 }

  /// The canonical value (`0 ≤ v < p`) as little-endian 64-bit limbs.
  @inlinable
  public var canonicalLimbs: (UInt64, UInt64, UInt64, UInt64) {
    let c = Fr.montgomeryMultiply(self, Fr(montgomery: 1, 0, 0, 0))
    return (c.l0, c.l1, c.l2, c.l3)
  }

  // MARK: constants

  // Constants are computed properties returning literals so they fold into the arithmetic (a `static let` would
  // add a lazy-initialisation check to every multiplication).

  /// The modulus `p`, little-endian limbs.
  @inlinable static var P: (UInt64, UInt64, UInt64, UInt64) {
    @inline(__always) get {
      (0x43e1_f593_f000_0001, 0x2833_e848_79b9_7091, 0xb850_45b6_8181_585d, 0x3064_4e72_e131_a029)
    }
  }
  /// `2^256 mod p` (Montgomery form of 1).
  @inlinable static var R: (UInt64, UInt64, UInt64, UInt64) {
    @inline(__always) get {
      (0xac96_341c_4fff_fffb, 0x36fc_7695_9f60_cd29, 0x666e_a36f_7879_462e, 0x0e0a_77c1_9a07_df2f)
    }
  }
  /// `2^512 mod p`, used to enter Montgomery form.
  @inlinable static var r2: Fr {
    @inline(__always) get {
      Fr(montgomery: 0x1bb8_e645_ae21_6da7, 0x53fe_3ab1_e35c_59e3, 0x8c49_833d_53bb_8085, 0x0216_d0b1_7f4e_44a5)
    }
  }
  /// `−p⁻¹ mod 2^64`.
  @inlinable static var pInv: UInt64 { @inline(__always) get { 0xc2e1_f593_efff_ffff } }

  /// `true` iff the little-endian limbs encode a value below `p`.
  @inlinable
  static func isBelowModulus(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) -> Bool {
    let (_, b0) = l0.subtractingReportingOverflow(P.0)
    let (d1, o1a) = l1.subtractingReportingOverflow(P.1)
    let (_, o1b) = d1.subtractingReportingOverflow(b0 ? 1 : 0)
    let (d2, o2a) = l2.subtractingReportingOverflow(P.2)
    let (_, o2b) = d2.subtractingReportingOverflow((o1a || o1b) ? 1 : 0)
    let (d3, o3a) = l3.subtractingReportingOverflow(P.3)
    let (_, o3b) = d3.subtractingReportingOverflow((o2a || o2b) ? 1 : 0)
    return o3a || o3b
  }
}
