/// Which arithmetic Leopard-RS uses for a given `(K, M)`.
public enum ReedSolomonField: Sendable, Equatable, CustomStringConvertible {
  /// `M = 1` (or `K = 1`): parity is the XOR of the data shards; no field arithmetic.
  case xor
  /// GF(2^8), chosen when `NextPow2(NextPow2(M) + K) ≤ 256`.
  case gf8
  /// GF(2^16), for everything larger.
  case gf16

  public var description: String {
    switch self {
    case .xor: return "XOR"
    case .gf8: return "GF(2^8)"
    case .gf16: return "GF(2^16)"
    }
  }

  /// The field Leopard picks for `K` data and `M` parity shards (counts already validated).
  public static func select(dataShards k: Int, parityShards m: Int) -> ReedSolomonField {
    if k == 1 || m == 1 { return .xor }
    return nextPow2(nextPow2(m) + k) <= 256 ? .gf8 : .gf16
  }
}

/// Smallest power of two `≥ x` (for `x ≥ 1`).
@inline(__always)
func nextPow2(_ x: Int) -> Int {
  x <= 1 ? 1 : 1 << (Int.bitWidth - (x - 1).leadingZeroBitCount)
}

/// Leopard's tables for one binary field in the Cantor-basis representation (erasure.md §4.2, §4.3, §4.6).
/// Immutable once built; the two instances are built lazily and shared.
struct LeopardField: Sendable {
  /// Field bits `r` (8 or 16).
  let bits: Int
  /// `Q = 2^r − 1`; as a logarithm it stands for "zero".
  let modulus: Int
  /// `LOG[v]` of the element represented by `v`; `LOG[0] = Q`.
  let log: [UInt16]
  /// `EXP[l]` for `l` in `0 ... Q` (with `EXP[Q] = EXP[0] = 1`).
  let exp: [UInt16]
  /// `skew[j]` for `j` in `1 ... Q` (index 0 unused): log of the butterfly twiddle at absolute position `j`.
  let skew: [UInt16]
  /// Walsh–Hadamard transform of the log table, reduced mod Q.
  let logWalsh: [UInt16]
  /// `foldedLogWalsh[t][i] = Σ_b logWalsh[b·2^t + i] mod Q` (size `2^t`, `t = 0 ... r`). The decoder's
  /// error locator only involves the first `n` positions, and `H_N = H_(N/n) ⊗ H_n` reduces its two size-`N`
  /// transforms to size-`n` transforms around a product with this folded table.
  let foldedLogWalsh: [[UInt16]]

  static let gf8 = LeopardField(
    bits: 8, polynomial: 0x11D, cantorBasis: [0x01, 0xD6, 0x98, 0x92, 0x56, 0xC8, 0x58, 0xE6])
  static let gf16 = LeopardField(
    bits: 16, polynomial: 0x1002D,
    cantorBasis: [
      0x0001, 0xACCA, 0x3C0E, 0x163E, 0xC582, 0xED2E, 0x914C, 0x4012,
      0x6C98, 0x10D8, 0x6A72, 0xB900, 0xFDB8, 0xFB34, 0xFF38, 0x991E,
    ])

  init(bits: Int, polynomial: Int, cantorBasis: [Int]) {
    let size = 1 << bits
    let q = size - 1
    self.bits = bits
    self.modulus = q

    // Standard-representation logs and exps: powers of x modulo the polynomial.
    var stdLog = [Int](repeating: q, count: size)
    var stdExp = [Int](repeating: 1, count: size)
    var state = 1
    for i in 0..<q {
      stdLog[state] = i
      stdExp[i] = state
      state <<= 1
      if state >= size { state ^= polynomial }
    }
    stdExp[q] = stdExp[0]
    func stdMul(_ a: Int, _ b: Int) -> Int {
      if a == 0 || b == 0 { return 0 }
      return stdExp[(stdLog[a] + stdLog[b]) % q]
    }
    func stdDiv(_ a: Int, _ b: Int) -> Int {
      if a == 0 { return 0 }
      return stdExp[(stdLog[a] + q - stdLog[b]) % q]
    }

    // φ(v): Cantor coordinates -> standard representation.
    var phi = [Int](repeating: 0, count: size)
    for v in 1..<size { phi[v] = phi[v & (v - 1)] ^ cantorBasis[v.trailingZeroBitCount] }

    var logTable = [UInt16](repeating: UInt16(q), count: size)
    var expTable = [UInt16](repeating: 0, count: size)
    for v in 1..<size {
      let l = stdLog[phi[v]]
      logTable[v] = UInt16(l)
      expTable[l] = UInt16(v)
    }
    expTable[q] = expTable[0]
    self.log = logTable
    self.exp = expTable

    // Subspace polynomials evaluated at the basis: w[k] = W_t(β_k), W_{t+1}(x) = W_t(x)·(W_t(x) + W_t(β_t)).
    var skewTable = [UInt16](repeating: UInt16(q), count: size)
    var w = cantorBasis
    var value = [Int](repeating: 0, count: size)
    for t in 0..<bits {
      let h = 1 << t
      // Ŵ_t(β_k) = W_t(β_k) / W_t(β_t), only needed for k > t.
      var normalised = [Int](repeating: 0, count: bits)
      for k in (t + 1)..<max(bits, t + 1) { normalised[k] = stdDiv(w[k], w[t]) }
      // Ŵ_t(ω_p) for p a multiple of 2h, by linearity over the set bits of p.
      var p = 2 * h
      value[0] = 0
      while p < size {
        value[p] = value[p & (p - 1)] ^ normalised[p.trailingZeroBitCount]
        p += 2 * h
      }
      p = 0
      while p + h < size {
        let v = value[p]
        skewTable[p + h] = v == 0 ? UInt16(q) : UInt16(stdLog[v])
        p += 2 * h
      }
      let wt = w[t]
      for k in 0..<bits { w[k] = stdMul(w[k], w[k] ^ wt) }
    }
    self.skew = skewTable

    var lw = [Int](repeating: 0, count: size)
    for v in 1..<size { lw[v] = Int(logTable[v]) }
    LeopardField.walshHadamard(&lw, modulus: q)
    self.logWalsh = lw.map { UInt16($0) }
    var folded: [[UInt16]] = [logWalsh]
    var current = lw
    while current.count > 1 {
      let half = current.count / 2
      current = (0..<half).map { (current[$0] + current[$0 + half]) % q }
      folded.append(current.map { UInt16($0) })
    }
    self.foldedLogWalsh = folded.reversed()
  }

  /// In-place unnormalised Walsh–Hadamard transform mod Q; entries stay in `0 ..< Q`.
  static func walshHadamard(_ data: inout [Int], modulus q: Int) {
    let size = data.count
    data.withUnsafeMutableBufferPointer { d in
      var span = 1
      while span < size {
        var start = 0
        while start < size {
          for i in start..<(start + span) {
            let a = d[i]
            let b = d[i + span]
            var s = a + b
            if s >= q { s -= q }
            var t = a - b
            if t < 0 { t += q }
            d[i] = s
            d[i + span] = t
          }
          start += 2 * span
        }
        span <<= 1
      }
    }
  }

  /// `a × g^l` in the Cantor representation; zero stays zero, `l = Q` multiplies by one.
  @inline(__always)
  func mulLog(_ a: Int, _ l: Int) -> Int {
    if a == 0 { return 0 }
    return Int(exp[(Int(log[a]) + l) % modulus])
  }

  /// Size in bytes of one multiplier record (see CErasureSIMD.h).
  var multiplierSize: Int { bits == 8 ? 64 : 192 }

  /// Writes the multiplier record for "multiply by g^l" at `out` (`multiplierSize` bytes). Multiplication by a
  /// constant is GF(2)-linear, so everything follows from the images of the `r` single-bit inputs.
  func writeMultiplier(log l: Int, to out: UnsafeMutableRawBufferPointer) {
    out.initializeMemory(as: UInt8.self, repeating: 0)
    var images = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &images) { raw in
      let image = raw.bindMemory(to: Int.self)
      for b in 0..<bits { image[b] = mulLog(1 << b, l) }
      // Product of every nibble value at nibble position k (XOR of the images of its set bits).
      func nibbleProducts(_ k: Int, _ body: (Int, Int) -> Void) {
        var table = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &table) { t in
          let t = t.bindMemory(to: Int.self)
          for x in 1..<16 { t[x] = t[x & (x - 1)] ^ image[4 * k + x.trailingZeroBitCount] }
          for x in 0..<16 { body(x, t[x]) }
        }
      }
      // GF2P8AFFINEQB matrix: byte 7−i holds the input bits (of input byte `from`) feeding output bit i of
      // output byte `to`.
      func matrix(from: Int, to: Int) -> UInt64 {
        var m: UInt64 = 0
        for i in 0..<8 {
          var row: UInt64 = 0
          for j in 0..<8 where (image[8 * from + j] >> (8 * to + i)) & 1 == 1 { row |= 1 << UInt64(j) }
          m |= row << UInt64(8 * (7 - i))
        }
        return m
      }
      if bits == 8 {
        nibbleProducts(0) { x, p in out[x] = UInt8(p) }
        nibbleProducts(1) { x, p in out[16 + x] = UInt8(p) }
        out.storeBytes(of: matrix(from: 0, to: 0).littleEndian, toByteOffset: 32, as: UInt64.self)
      } else {
        for k in 0..<4 {
          nibbleProducts(k) { x, p in
            out[32 * k + x] = UInt8(p & 0xFF)
            out[32 * k + 16 + x] = UInt8(p >> 8)
          }
        }
        let matrices = [matrix(from: 0, to: 0), matrix(from: 1, to: 0), matrix(from: 0, to: 1), matrix(from: 1, to: 1)]
        for (i, m) in matrices.enumerated() {
          out.storeBytes(of: m.littleEndian, toByteOffset: 128 + 8 * i, as: UInt64.self)
        }
      }
    }
  }
}
