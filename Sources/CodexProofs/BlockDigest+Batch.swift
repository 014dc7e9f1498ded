extension BlockDigest {
  /// The sponge digests (rate 2, as `Poseidon2Sponge.digest(bytes:)`) of eight equal-sized cells at once: the eight
  /// sponges absorb in lockstep and each permutation step runs as one `codex_poseidon2_permute_batch8` call (the
  /// AVX-512 IFMA kernel where the CPU has it). `cells[i]` are the eight cells' bytes, all of one length;
  /// `out[0..<8]` receives the digests in order.
  static func spongeDigests8(_ cells: [UnsafeRawBufferPointer], into out: UnsafeMutableBufferPointer<Fr>) {
    precondition(cells.count == 8 && cells.allSatisfy { $0.count == cells[0].count })
    let n = FieldBytes.elementCount(byteCount: cells[0].count)
    // Column-major element table: elements[k * 8 + lane] is element k of cell `lane`.
    var elements = [Fr](repeating: .zero, count: n * 8)
    for (lane, cell) in cells.enumerated() {
      var k = 0
      FieldBytes.forEachElement(cell) { e in
        elements[k * 8 + lane] = e
        k += 1
      }
      precondition(k == n, "FieldBytes.elementCount disagrees with forEachElement")
    }
    let domain = Fr(reducedLimbs: 0x300 | 2, 1, 0, 0)
    var states = [Fr](repeating: .zero, count: 24)
    for lane in 0..<8 { states[3 * lane + 2] = domain }
    var words = [UInt64](repeating: 0, count: 96)
    states.withUnsafeMutableBufferPointer { st in
      words.withUnsafeMutableBufferPointer { w in
        var k = 0
        while k + 2 <= n {
          for lane in 0..<8 {
            st[3 * lane] += elements[k * 8 + lane]
            st[3 * lane + 1] += elements[(k + 1) * 8 + lane]
          }
          Poseidon2.permuteBatch8(st, words: w)
          k += 2
        }
        // Padding `10*`: an odd last element and the pad 1 fill the rate; otherwise the pad 1 goes first.
        for lane in 0..<8 {
          if k < n {
            st[3 * lane] += elements[k * 8 + lane]
            st[3 * lane + 1] += .one
          } else {
            st[3 * lane] += .one
          }
        }
        Poseidon2.permuteBatch8(st, words: w)
        for lane in 0..<8 { out[lane] = st[3 * lane] }
      }
    }
  }
}
