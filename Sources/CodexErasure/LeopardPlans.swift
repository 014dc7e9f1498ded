#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Leopard-RS encode and decode expressed as shard plans (erasure.md §4.1, §4.5, §4.6).
enum LeopardPlans {
  static func field(_ f: ReedSolomonField) -> LeopardField? {
    switch f {
    case .xor: return nil
    case .gf8: return LeopardField.gf8
    case .gf16: return LeopardField.gf16
    }
  }

  /// Inputs: the `k` data shards. Outputs: the `m` parity shards.
  static func encode(k: Int, m: Int, field kind: ReedSolomonField) -> ShardPlan {
    var b = ShardPlanBuilder(field: field(kind), inputs: k, outputs: m)
    if k == 1 || m == 1 {
      // K = 1: parity is a copy; M = 1: parity is the XOR of all data shards.
      for j in 0..<k { b.xor(b.output(0), b.input(j)) }
      return b.finish()
    }
    let mp = nextPow2(m)
    var acc: [Int] = []
    for i in 0..<mp { acc.append(i < m ? b.output(i) : b.temp()) }
    let chunks = (k + mp - 1) / mp
    var tmp: [Int] = []
    if chunks > 1 { for _ in 0..<mp { tmp.append(b.temp()) } }
    for c in 0..<chunks {
      let w = c == 0 ? acc : tmp
      for p in 0..<mp {
        let j = c * mp + p
        if j < k { b.copy(w[p], b.input(j)) } else { b.setZero(w[p]) }
      }
      b.ifft(w, offset: (c + 1) * mp)
      if c > 0 { for p in 0..<mp { b.xor(acc[p], tmp[p]) } }
    }
    b.fft(acc, offset: 0)
    return b.finish()
  }

  /// Inputs: `k` data shards then `m` parity shards (absent ones are never read). Outputs: one per entry of
  /// `wanted` (absent data positions, ascending). The caller checked that decoding is possible.
  static func decode(
    k: Int, m: Int, field kind: ReedSolomonField, dataPresent: [Bool], parityPresent: [Bool], wanted: [Int]
  ) -> ShardPlan {
    var b = ShardPlanBuilder(field: field(kind), inputs: k + m, outputs: wanted.count)
    if k == 1 || m == 1 {
      // The single missing data shard is parity ⊕ (all present data shards); with K = 1 it is a copy.
      for (o, _) in wanted.enumerated() {
        b.copy(b.output(o), b.input(k))
        for j in 0..<k where dataPresent[j] { b.xor(b.output(o), b.input(j)) }
      }
      return b.finish()
    }
    let f = field(kind)!
    let q = f.modulus
    let mp = nextPow2(m)
    let n = nextPow2(mp + k)

    // Error locator: E[i] = log Π_{erased e ≠ i} (ω_i − ω_e) = FWHT(FWHT(indicator) · FWHT(LOG)), needed
    // for i < n only; computed with size-n transforms and the folded log table (LeopardField.foldedLogWalsh).
    var e = [Int](repeating: 0, count: n)
    for i in 0..<m where !parityPresent[i] { e[i] = 1 }
    for i in m..<mp { e[i] = 1 }
    for j in 0..<k where !dataPresent[j] { e[mp + j] = 1 }
    LeopardField.walshHadamard(&e, modulus: q)
    f.foldedLogWalsh[n.trailingZeroBitCount].withUnsafeBufferPointer { lw in
      for i in 0..<n { e[i] = e[i] * Int(lw[i]) % q }
    }
    LeopardField.walshHadamard(&e, modulus: q)

    var w: [Int] = []
    for _ in 0..<n { w.append(b.temp()) }
    for i in 0..<m where parityPresent[i] { b.mul(w[i], b.input(k + i), log: e[i]) }
    for j in 0..<k where dataPresent[j] { b.mul(w[mp + j], b.input(j), log: e[mp + j]) }
    b.ifft(w, offset: 0)
    // Formal derivative in the novel polynomial basis.
    for i in 1..<n {
      let width = i & -i
      for t in 0..<width { b.xor(w[i - width + t], w[i + t]) }
    }
    b.fft(w, offset: 0)
    for (o, j) in wanted.enumerated() {
      b.mul(b.output(o), w[mp + j], log: (q - e[mp + j]) % q)
    }
    return b.finish()
  }
}

extension LeopardPlans {
  /// Input indices a decode plan reads (data first, then parity), in input-slot order.
  static func usedInputs(k: Int, dataPresent: [Bool], parityPresent: [Bool]) -> [Int] {
    (0..<k).filter { dataPresent[$0] } + parityPresent.indices.filter { parityPresent[$0] }.map { k + $0 }
  }

  /// Decoding is linear, so each recovered shard is `Σ c_u · input_u` over the inputs the plan reads. Runs
  /// `plan` once on small probe shards (input `u` holds the element 1 at element position `u`) to read off the
  /// coefficients, and returns a plan computing the outputs directly as those sums: one pass over the
  /// inputs instead of a full transform, which wins when few shards are recovered.
  static func combination(of plan: ShardPlan, field kind: ReedSolomonField, used: [Int]) -> ShardPlan {
    let f = field(kind)!
    let wide = f.bits == 16
    let perUnit = wide ? 32 : 64
    let probeSize = 64 * ((used.count + perUnit - 1) / perUnit)
    let probes = UnsafeMutableRawPointer.allocate(byteCount: probeSize * used.count, alignment: 64)
    defer { probes.deallocate() }
    let results = UnsafeMutableRawPointer.allocate(byteCount: probeSize * plan.outputCount, alignment: 64)
    defer { results.deallocate() }
    memset(probes, 0, probeSize * used.count)
    func offset(_ u: Int) -> Int { wide ? 64 * (u / 32) + u % 32 : u }
    for u in 0..<used.count { probes.storeBytes(of: 1, toByteOffset: u * probeSize + offset(u), as: UInt8.self) }
    var inputs = [UnsafeRawPointer](repeating: UnsafeRawPointer(probes), count: plan.inputCount)
    for (u, slot) in used.enumerated() { inputs[slot] = UnsafeRawPointer(probes + u * probeSize) }
    let outputs = (0..<plan.outputCount).map { results + $0 * probeSize }
    plan.run(
      ShardPointers(inputs: inputs, outputs: outputs), range: 0..<probeSize, chunk: probeSize,
      isa: Int32(ErasureKernels.best.rawValue))

    var b = ShardPlanBuilder(field: f, inputs: plan.inputCount, outputs: plan.outputCount)
    for o in 0..<plan.outputCount {
      for (u, slot) in used.enumerated() {
        let at = outputs[o] + offset(u)
        var c = Int(at.load(as: UInt8.self))
        if wide { c |= Int((at + 32).load(as: UInt8.self)) << 8 }
        if c != 0 { b.mulAdd(b.output(o), slot, log: Int(f.log[c])) }
      }
    }
    return b.finish()
  }
}
