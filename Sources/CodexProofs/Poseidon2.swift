/// The Poseidon2 permutation over BN254 `Fr` with state width 3, S-box x⁵, 8 full and 56 partial rounds, as used
/// by nim-poseidon2 and the Codex storage-proof circuit. Pure and allocation-free.
public enum Poseidon2 {
  /// Permutes the state `(x, y, z)` in place.
  public static func permute(_ x: inout Fr, _ y: inout Fr, _ z: inout Fr) {
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
