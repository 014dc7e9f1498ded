@testable import CodexErasure

/// A deliberately naive, element-at-a-time Leopard encoder written straight from erasure.md §4.5, used to
/// cross-check the planned/SIMD encoder on many (K, M) pairs.
enum ReferenceLeopard {
  static func elements(_ shard: [UInt8], wide: Bool) -> [Int] {
    if !wide { return shard.map(Int.init) }
    var out: [Int] = []
    for c in stride(from: 0, to: shard.count, by: 64) {
      for t in 0..<32 { out.append(Int(shard[c + t]) | Int(shard[c + 32 + t]) << 8) }
    }
    return out
  }

  static func bytes(_ elems: [Int], wide: Bool) -> [UInt8] {
    if !wide { return elems.map { UInt8($0) } }
    var out = [UInt8](repeating: 0, count: elems.count * 2)
    for c in 0..<(elems.count / 32) {
      for t in 0..<32 {
        out[64 * c + t] = UInt8(elems[32 * c + t] & 0xFF)
        out[64 * c + 32 + t] = UInt8(elems[32 * c + t] >> 8)
      }
    }
    return out
  }

  static func transform(_ w: inout [[Int]], offset: Int, inverse: Bool, field f: LeopardField) {
    let s = w.count
    let q = f.modulus
    var spans: [Int] = []
    var h = 1
    while h < s { spans.append(h); h <<= 1 }
    if !inverse { spans.reverse() }
    for h in spans {
      for g in stride(from: 0, to: s, by: 2 * h) {
        let l = Int(f.skew[offset + g + h])
        for t in g..<(g + h) {
          for e in 0..<w[t].count {
            if inverse {
              w[t + h][e] ^= w[t][e]
              if l != q { w[t][e] ^= f.mulLog(w[t + h][e], l) }
            } else {
              if l != q { w[t][e] ^= f.mulLog(w[t + h][e], l) }
              w[t + h][e] ^= w[t][e]
            }
          }
        }
      }
    }
  }

  static func encode(_ data: [[UInt8]], m: Int) -> [[UInt8]] {
    let k = data.count
    if k == 1 || m == 1 {
      var p = data[0]
      for d in data.dropFirst() { for i in 0..<p.count { p[i] ^= d[i] } }
      return [p]
    }
    let kind = ReedSolomonField.select(dataShards: k, parityShards: m)
    let f = kind == .gf8 ? LeopardField.gf8 : LeopardField.gf16
    let wide = kind == .gf16
    let elems = data.map { elements($0, wide: wide) }
    let count = elems[0].count
    let mp = nextPow2(m)
    var acc = [[Int]](repeating: [Int](repeating: 0, count: count), count: mp)
    for b in 0..<((k + mp - 1) / mp) {
      var w = (0..<mp).map { p in b * mp + p < k ? elems[b * mp + p] : [Int](repeating: 0, count: count) }
      transform(&w, offset: (b + 1) * mp, inverse: true, field: f)
      for p in 0..<mp { for e in 0..<count { acc[p][e] ^= w[p][e] } }
    }
    transform(&acc, offset: 0, inverse: false, field: f)
    return (0..<m).map { bytes(acc[$0], wide: wide) }
  }
}
