import CErasureSIMD

/// A straight-line program over shard "slots" that computes Leopard parity or recovered shards. It is built once
/// per erasure pattern, then run over the shard byte range in cache-sized chunks (every operation is
/// element-wise, so chunks are independent and can run on several cores).
///
/// Slots `0 ..< inputCount` are read-only caller inputs, the next `outputCount` are caller outputs, the rest are
/// scratch buffers of one chunk each.
struct ShardPlan: Sendable {
  enum Kind: UInt8, Sendable {
    /// a = b
    case copy
    /// a = 0
    case zero
    /// a ^= b
    case xor
    /// a = b · c
    case mul
    /// a ^= b · c
    case muladd
    /// b ^= a; a ^= b · c
    case ifft
    /// a ^= b · c; b ^= a
    case fft
  }

  struct Op: Sendable {
    var kind: Kind
    var a: Int32
    var b: Int32
    /// Byte offset of the multiplier record in `multipliers`.
    var mult: Int32
  }

  var wide: Bool
  var inputCount: Int
  var outputCount: Int
  var tempCount: Int
  var ops: [Op]
  var multipliers: [UInt8]

  var slotCount: Int { inputCount + outputCount + tempCount }
}

/// Builds a `ShardPlan`, tracking which slots are known to be zero so that no operation reads them, and
/// removing operations whose results never reach an output.
struct ShardPlanBuilder {
  let field: LeopardField?
  let inputCount: Int
  let outputCount: Int
  private(set) var tempCount = 0
  private var ops: [ShardPlan.Op] = []
  private var multipliers: [UInt8] = []
  private var multiplierIndex: [Int: Int32] = [:]
  private var zero: [Bool]

  init(field: LeopardField?, inputs: Int, outputs: Int) {
    self.field = field
    self.inputCount = inputs
    self.outputCount = outputs
    self.zero = [Bool](repeating: false, count: inputs) + [Bool](repeating: true, count: outputs)
  }

  func input(_ i: Int) -> Int { i }
  func output(_ i: Int) -> Int { inputCount + i }

  /// A new scratch slot, initially zero.
  mutating func temp() -> Int {
    tempCount += 1
    zero.append(true)
    return inputCount + outputCount + tempCount - 1
  }

  func isZero(_ s: Int) -> Bool { zero[s] }

  mutating func setZero(_ s: Int) { zero[s] = true }

  private mutating func multiplier(_ l: Int) -> Int32 {
    if let offset = multiplierIndex[l] { return offset }
    let field = self.field!
    let size = field.multiplierSize
    let offset = multipliers.count
    multipliers.append(contentsOf: repeatElement(0, count: size))
    multipliers.withUnsafeMutableBytes {
      field.writeMultiplier(log: l, to: UnsafeMutableRawBufferPointer(rebasing: $0[offset..<offset + size]))
    }
    multiplierIndex[l] = Int32(offset)
    return Int32(offset)
  }

  private mutating func emit(_ kind: ShardPlan.Kind, _ a: Int, _ b: Int, log l: Int? = nil) {
    let m = l.map { multiplier($0) } ?? 0
    ops.append(ShardPlan.Op(kind: kind, a: Int32(a), b: Int32(b), mult: m))
  }

  /// dst = src
  mutating func copy(_ dst: Int, _ src: Int) {
    if zero[src] { zero[dst] = true; return }
    emit(.copy, dst, src)
    zero[dst] = false
  }

  /// dst ^= src
  mutating func xor(_ dst: Int, _ src: Int) {
    if zero[src] { return }
    if zero[dst] { copy(dst, src); return }
    emit(.xor, dst, src)
  }

  /// dst = src · g^l  (l is a full residue mod Q)
  mutating func mul(_ dst: Int, _ src: Int, log l: Int) {
    if zero[src] { zero[dst] = true; return }
    if l % field!.modulus == 0 { copy(dst, src); return }
    emit(.mul, dst, src, log: l)
    zero[dst] = false
  }

  /// dst ^= src · g^l
  mutating func mulAdd(_ dst: Int, _ src: Int, log l: Int) {
    if zero[src] { return }
    if zero[dst] { mul(dst, src, log: l); return }
    if l % field!.modulus == 0 { emit(.xor, dst, src); return }
    emit(.muladd, dst, src, log: l)
  }

  /// Inverse-FFT butterfly: y ^= x; if l != Q { x ^= y · g^l }
  mutating func ifftButterfly(_ x: Int, _ y: Int, log l: Int) {
    let q = field!.modulus
    switch (zero[x], zero[y]) {
    case (true, true): return
    case (true, false):
      if l != q { mul(x, y, log: l) }
    case (false, true):
      copy(y, x)
      if l != q { emit(.muladd, x, y, log: l) }
    case (false, false):
      if l != q { emit(.ifft, x, y, log: l) } else { emit(.xor, y, x) }
    }
  }

  /// FFT butterfly: if l != Q { x ^= y · g^l }; y ^= x
  mutating func fftButterfly(_ x: Int, _ y: Int, log l: Int) {
    let q = field!.modulus
    switch (zero[x], zero[y]) {
    case (true, true): return
    case (true, false):
      if l != q {
        mul(x, y, log: l)
        emit(.xor, y, x)
      }
    case (false, true):
      copy(y, x)
    case (false, false):
      if l != q { emit(.fft, x, y, log: l) } else { emit(.xor, y, x) }
    }
  }

  /// IFFT over `w` (a power-of-two count of slots) whose first element sits at absolute position `offset`.
  mutating func ifft(_ w: [Int], offset: Int) {
    let skew = field!.skew
    var h = 1
    while h < w.count {
      var g = 0
      while g < w.count {
        let l = Int(skew[offset + g + h])
        for t in g..<(g + h) { ifftButterfly(w[t], w[t + h], log: l) }
        g += 2 * h
      }
      h <<= 1
    }
  }

  /// FFT over `w` whose first element sits at absolute position `offset`.
  mutating func fft(_ w: [Int], offset: Int) {
    let skew = field!.skew
    var h = w.count / 2
    while h >= 1 {
      var g = 0
      while g < w.count {
        let l = Int(skew[offset + g + h])
        for t in g..<(g + h) { fftButterfly(w[t], w[t + h], log: l) }
        g += 2 * h
      }
      h >>= 1
    }
  }

  /// Zero-fills outputs that are still logically zero, drops dead operations and returns the plan.
  mutating func finish() -> ShardPlan {
    for o in 0..<outputCount where zero[output(o)] { emit(.zero, output(o), 0) }
    // Backward liveness: an operation survives only if it writes a slot read later (or an output).
    var live = [Bool](repeating: false, count: inputCount + outputCount + tempCount)
    for o in 0..<outputCount { live[output(o)] = true }
    var kept: [ShardPlan.Op] = []
    kept.reserveCapacity(ops.count)
    for op in ops.reversed() {
      let a = Int(op.a)
      let b = Int(op.b)
      switch op.kind {
      case .copy, .mul:
        guard live[a] else { continue }
        live[a] = false
        live[b] = true
      case .zero:
        guard live[a] else { continue }
        live[a] = false
      case .xor, .muladd:
        guard live[a] else { continue }
        live[b] = true
      case .ifft, .fft:
        guard live[a] || live[b] else { continue }
        live[a] = true
        live[b] = true
      }
      kept.append(op)
    }
    return ShardPlan(
      wide: field?.bits == 16, inputCount: inputCount, outputCount: outputCount, tempCount: tempCount,
      ops: kept.reversed(), multipliers: multipliers)
  }
}
