import CProofsKernels

extension Poseidon2 {
  /// `true` when `permuteBatch` runs eight permutations at once on the AVX-512 IFMA kernel on this CPU.
  public static var usesIFMA: Bool { codex_poseidon2_has_ifma() != 0 }

  /// Permutes every state in place: `states` holds `states.count / 3` independent states `(x, y, z)` one after the
  /// other (`states.count` must be a multiple of 3). Each result equals `permute` on that state. Groups of eight run
  /// on the AVX-512 IFMA kernel when the CPU has it (else on the scalar kernel); the rest run one by one.
  public static func permuteBatch(_ states: inout [Fr]) {
    precondition(states.count % 3 == 0, "permuteBatch takes whole states of three elements")
    let count = states.count / 3
    var buffer = [UInt64](repeating: 0, count: 96)
    var start = 0
    states.withUnsafeMutableBufferPointer { fr in
      buffer.withUnsafeMutableBufferPointer { words in
        while start + 8 <= count {
          pack(fr, from: 3 * start, into: words)
          codex_poseidon2_permute_batch8(words.baseAddress!)
          unpack(words, into: fr, at: 3 * start)
          start += 8
        }
      }
      while start < count {
        permute(&fr[3 * start], &fr[3 * start + 1], &fr[3 * start + 2])
        start += 1
      }
    }
  }

  /// The AVX-512 IFMA kernel on exactly eight states (`states.count == 24`, laid out as for `permuteBatch`).
  /// Returns `false` (states untouched) when this CPU or build has no such kernel. For tests and benchmarks.
  @discardableResult
  public static func permuteBatch8IFMA(_ states: inout [Fr]) -> Bool {
    precondition(states.count == 24, "permuteBatch8IFMA takes exactly eight states")
    var buffer = [UInt64](repeating: 0, count: 96)
    var ran = false
    states.withUnsafeMutableBufferPointer { fr in
      buffer.withUnsafeMutableBufferPointer { words in
        pack(fr, from: 0, into: words)
        ran = codex_poseidon2_permute_batch8_ifma(words.baseAddress!) != 0
        if ran { unpack(words, into: fr, at: 0) }
      }
    }
    return ran
  }

  /// Copies 24 elements starting at `start` into the kernel's 96 words (four Montgomery limbs each).
  @inline(__always)
  static func pack(
    _ fr: UnsafeMutableBufferPointer<Fr>, from start: Int, into words: UnsafeMutableBufferPointer<UInt64>
  ) {
    for i in 0..<24 {
      let e = fr[start + i]
      words[4 * i] = e.l0
      words[4 * i + 1] = e.l1
      words[4 * i + 2] = e.l2
      words[4 * i + 3] = e.l3
    }
  }

  /// Copies the kernel's 96 words back into 24 elements starting at `start`.
  @inline(__always)
  static func unpack(
    _ words: UnsafeMutableBufferPointer<UInt64>, into fr: UnsafeMutableBufferPointer<Fr>, at start: Int
  ) {
    for i in 0..<24 {
      fr[start + i] = Fr(montgomery: words[4 * i], words[4 * i + 1], words[4 * i + 2], words[4 * i + 3])
    }
  }
}

extension Poseidon2 {
  /// Eight states (`fr[0..<24]`) through `codex_poseidon2_permute_batch8`, with `words` (96 words) as scratch.
  @inline(__always)
  static func permuteBatch8(_ fr: UnsafeMutableBufferPointer<Fr>, words: UnsafeMutableBufferPointer<UInt64>) {
    pack(fr, from: 0, into: words)
    codex_poseidon2_permute_batch8(words.baseAddress!)
    unpack(words, into: fr, at: 0)
  }
}
