import CProofsKernels

extension Fr {
  /// `self · yⁿ` by `count` dependent Montgomery multiplications in the C kernel (`CProofsKernels`): its
  /// mulx/adcx/adox multiplication where the CPU has BMI2 and ADX, or its portable one when `portable` is set or the
  /// CPU lacks them. For benchmarks (a dependent chain measures latency) and tests of the kernel's arithmetic.
  public func kernelMultiplyChain(by y: Fr, count: Int, portable: Bool = false) -> Fr {
    var x = [l0, l1, l2, l3]
    let ys = [y.l0, y.l1, y.l2, y.l3]
    codex_fr_mul_chain(&x, ys, count, portable ? 1 : 0)
    return Fr(montgomery: x[0], x[1], x[2], x[3])
  }
}
