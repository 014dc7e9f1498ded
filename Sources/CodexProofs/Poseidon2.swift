import CProofsKernels

/// The Poseidon2 permutation over BN254 `Fr` with state width 3, S-box x⁵, 8 full and 56 partial rounds, as used
/// by nim-poseidon2 and the Codex storage-proof circuit. Pure and allocation-free.
public enum Poseidon2 {
  /// Permutes the state `(x, y, z)` in place. Runs the C kernel (`CProofsKernels`): hand-written mulx/adcx/adox
  /// Montgomery arithmetic when the CPU has BMI2 and ADX, else its portable build; `permuteSwift` is the same
  /// permutation in Swift. Allocation-free.
  public static func permute(_ x: inout Fr, _ y: inout Fr, _ z: inout Fr) {
    withKernelState(&x, &y, &z) { codex_poseidon2_permute($0) }
  }

  /// Copies `(x, y, z)` into the kernel's 12-limb state, runs `body` on it and copies the result back.
  @inline(__always)
  static func withKernelState(
    _ x: inout Fr, _ y: inout Fr, _ z: inout Fr, _ body: (UnsafeMutablePointer<UInt64>) -> Void
  ) {
    var state: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
      x.l0, x.l1, x.l2, x.l3, y.l0, y.l1, y.l2, y.l3, z.l0, z.l1, z.l2, z.l3
    )
    withUnsafeMutableBytes(of: &state) { buf in body(buf.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
    x = Fr(montgomery: state.0, state.1, state.2, state.3)
    y = Fr(montgomery: state.4, state.5, state.6, state.7)
    z = Fr(montgomery: state.8, state.9, state.10, state.11)
  }

  /// The C kernel's portable build (no BMI2/ADX), whatever the CPU. For tests and benchmarks.
  public static func permutePortableKernel(_ x: inout Fr, _ y: inout Fr, _ z: inout Fr) {
    withKernelState(&x, &y, &z) { codex_poseidon2_permute_portable($0) }
  }

  /// The C kernel's mulx/adcx/adox build. Returns `false` (state untouched) when this CPU or build has none.
  @discardableResult
  public static func permuteADXKernel(_ x: inout Fr, _ y: inout Fr, _ z: inout Fr) -> Bool {
    var ran = false
    withKernelState(&x, &y, &z) { ran = codex_poseidon2_permute_adx($0) != 0 }
    return ran
  }

  /// `true` when `permute` runs the BMI2/ADX variant of the C kernel on this CPU.
  public static var usesBMI2: Bool { codex_poseidon2_uses_bmi2() != 0 }

  /// The permutation in pure Swift (reference for the C kernel, and its fallback).
  public static func permuteSwift(_ x: inout Fr, _ y: inout Fr, _ z: inout Fr) {
    var a = x
    var b = y
    var c = z
    Poseidon2Constants.external.withUnsafeBufferPointer { ext in
      Poseidon2Constants.internal.withUnsafeBufferPointer { int in
        // Initial external linear layer circ(2, 1, 1).
        var s = a + b + c
        a += s
        b += s
        c += s
        var k = 0
        for _ in 0..<4 {
          a = (a + ext[k]).pow5()
          b = (b + ext[k + 1]).pow5()
          c = (c + ext[k + 2]).pow5()
          s = a + b + c
          a += s
          b += s
          c += s
          k += 3
        }
        for j in 0..<56 {
          a = (a + int[j]).pow5()
          s = a + b + c
          a += s
          b += s
          c = c + c + s
        }
        for _ in 4..<8 {
          a = (a + ext[k]).pow5()
          b = (b + ext[k + 1]).pow5()
          c = (c + ext[k + 2]).pow5()
          s = a + b + c
          a += s
          b += s
          c += s
          k += 3
        }
      }
    }
    x = a
    y = b
    z = c
  }

  /// Returns the permutation of `(x, y, z)`.
  public static func permutation(_ x: Fr, _ y: Fr, _ z: Fr) -> (Fr, Fr, Fr) {
    var a = x
    var b = y
    var c = z
    permute(&a, &b, &c)
    return (a, b, c)
  }

  /// Keyed two-to-one compression: the first word of `perm(a, b, key)`.
  public static func compress(_ a: Fr, _ b: Fr, key: Fr = .zero) -> Fr {
    var x = a
    var y = b
    var z = key
    permute(&x, &y, &z)
    return x
  }
}
