// ProofsBenchmark: Poseidon2 and block-digest-tree throughput, one JSON object per line.
// Run: swift run -c release ProofsBenchmark [--quick]   (build: swift build -c release --product ProofsBenchmark)
//
// Single-core figures use the calling thread's CPU time (the build machines are shared, so wall time would mostly
// measure other processes); the wall-clock figure is printed beside it. The all-cores figure is wall-clock.
import CodexProofs
import Crypto
import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

let quick = CommandLine.arguments.contains("--quick")
let duration = quick ? 0.3 : 2.0
let cores = SystemInfo.activeProcessorCount

/// One measurement: iterations and the wall / thread-CPU seconds they took.
struct Sample {
  var iterations: Int
  var wall: Double
  var cpu: Double
}

/// Runs `body` until `seconds` of thread CPU time (or 20× that in wall time) have passed.
func measure(seconds: Double, _ body: () -> Void) -> Sample {
  body()  // warm-up
  var n = 0
  let wall0 = Clock.wall()
  let cpu0 = Clock.threadCPU()
  repeat {
    body()
    n += 1
  } while Clock.threadCPU() - cpu0 < seconds && Clock.wall() - wall0 < 20 * seconds
  return Sample(iterations: n, wall: Clock.wall() - wall0, cpu: Clock.threadCPU() - cpu0)
}

/// Runs `body` until `seconds` of wall time have passed.
func measureWall(seconds: Double, _ body: () -> Void) -> Sample {
  body()
  var n = 0
  let wall0 = Clock.wall()
  repeat {
    body()
    n += 1
  } while Clock.wall() - wall0 < seconds
  return Sample(iterations: n, wall: Clock.wall() - wall0, cpu: 0)
}

let load = "\"" + SystemInfo.loadAverage + "\""

// 1. Poseidon2 permutation, one core.
/// Chains `count` permutations starting from `(0, 1, 2)` and returns the final first word.
func chainPermutations(_ count: Int, from start: (Fr, Fr, Fr)) -> (Fr, Fr, Fr) {
  var (x, y, z) = start
  for _ in 0..<count { Poseidon2.permute(&x, &y, &z) }
  return (x, y, z)
}
var state: (Fr, Fr, Fr) = (0, 1, 2)
let perm = measure(seconds: duration) { state = chainPermutations(1000, from: state) }
let permUs = perm.cpu / Double(perm.iterations * 1000) * 1e6
// Baseline: the naive shift-and-add reference implementation of the same permutation.
let naive = measure(seconds: duration) { _ = NaiveField.permutation(state.0, state.1, state.2) }
let naiveUs = naive.cpu / Double(naive.iterations) * 1e6
JSONLine.emit(
  "poseidon2_permutation_1core", permUs, "us/perm",
  [
    "perms_per_sec": JSONLine.fixed(1e6 / permUs, 0),
    "wall_us": JSONLine.fixed(perm.wall / Double(perm.iterations * 1000) * 1e6, 3),
    "baseline_naive_reference_us": JSONLine.fixed(naiveUs, 1),
    "speedup_vs_baseline": JSONLine.fixed(naiveUs / permUs, 1),
    "loadavg": load,
    "kernel": Poseidon2.usesBMI2 ? "\"c-bmi2-adx\"" : "\"c-generic\"",
  ])

// The same permutation in pure Swift (the fallback of the C kernel).
func chainSwiftPermutations(_ count: Int, from start: (Fr, Fr, Fr)) -> (Fr, Fr, Fr) {
  var (x, y, z) = start
  for _ in 0..<count { Poseidon2.permuteSwift(&x, &y, &z) }
  return (x, y, z)
}
var swiftState: (Fr, Fr, Fr) = (0, 1, 2)
let swiftPerm = measure(seconds: duration) { swiftState = chainSwiftPermutations(1000, from: swiftState) }
let swiftPermUs = swiftPerm.cpu / Double(swiftPerm.iterations * 1000) * 1e6
JSONLine.emit(
  "poseidon2_permutation_swift_1core", swiftPermUs, "us/perm",
  [
    "perms_per_sec": JSONLine.fixed(1e6 / swiftPermUs, 0), "baseline_c_kernel_us": JSONLine.fixed(permUs, 3),
    "same_result": chainSwiftPermutations(10, from: (0, 1, 2)) == chainPermutations(10, from: (0, 1, 2))
      ? "true" : "false",
  ])

// The C kernel's portable build (no BMI2/ADX), the fallback on other CPUs.
func chainPortablePermutations(_ count: Int, from start: (Fr, Fr, Fr)) -> (Fr, Fr, Fr) {
  var (x, y, z) = start
  for _ in 0..<count { Poseidon2.permutePortableKernel(&x, &y, &z) }
  return (x, y, z)
}
var portableState: (Fr, Fr, Fr) = (0, 1, 2)
let portablePerm = measure(seconds: duration) {
  portableState = chainPortablePermutations(1000, from: portableState)
}
let portablePermUs = portablePerm.cpu / Double(portablePerm.iterations * 1000) * 1e6
JSONLine.emit(
  "poseidon2_permutation_portable_c_1core", portablePermUs, "us/perm",
  [
    "perms_per_sec": JSONLine.fixed(1e6 / portablePermUs, 0),
    "baseline_dispatched_kernel_us": JSONLine.fixed(permUs, 3),
    "same_result": chainPortablePermutations(10, from: (0, 1, 2)) == chainPermutations(10, from: (0, 1, 2))
      ? "true" : "false",
  ])

// The AVX-512 IFMA kernel: eight independent permutations per call (one per 64-bit lane), amortised per permutation.
// Baseline in the same run: the same eight independent states, one by one through the scalar (dispatched) kernel.
if Poseidon2.usesIFMA {
  var batchStates = (0..<24).map { Fr(UInt64($0)) }
  let ifma = measure(seconds: duration) { for _ in 0..<125 { Poseidon2.permuteBatch8IFMA(&batchStates) } }
  let ifmaUs = ifma.cpu / Double(ifma.iterations * 1000) * 1e6
  var scalarStates = (0..<24).map { Fr(UInt64($0)) }
  let scalar = measure(seconds: duration) {
    for _ in 0..<125 {
      for s in 0..<8 {
        var (a, b, c) = (scalarStates[3 * s], scalarStates[3 * s + 1], scalarStates[3 * s + 2])
        Poseidon2.permute(&a, &b, &c)
        (scalarStates[3 * s], scalarStates[3 * s + 1], scalarStates[3 * s + 2]) = (a, b, c)
      }
    }
  }
  let scalarUs = scalar.cpu / Double(scalar.iterations * 1000) * 1e6
  // Ten rounds of both kernels from the same start must agree.
  var check = (0..<24).map { Fr(UInt64($0 + 5)) }
  var expected = check
  for _ in 0..<10 {
    Poseidon2.permuteBatch8IFMA(&check)
    for s in 0..<8 {
      var (a, b, c) = (expected[3 * s], expected[3 * s + 1], expected[3 * s + 2])
      Poseidon2.permute(&a, &b, &c)
      (expected[3 * s], expected[3 * s + 1], expected[3 * s + 2]) = (a, b, c)
    }
  }
  JSONLine.emit(
    "poseidon2_permutation_ifma_batch8_1core", ifmaUs, "us/perm",
    [
      "perms_per_sec": JSONLine.fixed(1e6 / ifmaUs, 0),
      "wall_us": JSONLine.fixed(ifma.wall / Double(ifma.iterations * 1000) * 1e6, 3),
      "baseline_scalar_kernel_independent_us": JSONLine.fixed(scalarUs, 3),
      "baseline_scalar_kernel_chained_us": JSONLine.fixed(permUs, 3),
      "speedup_vs_scalar": JSONLine.fixed(scalarUs / ifmaUs, 2),
      "same_result": check == expected ? "true" : "false",
      "loadavg": load,
    ])
} else {
  JSONLine.emit(
    "poseidon2_permutation_ifma_batch8_1core", 0, "us/perm",
    ["skipped": "\"this CPU has no AVX-512 IFMA\"", "baseline_scalar_kernel_chained_us": JSONLine.fixed(permUs, 3)])
}

// The C kernel's Montgomery multiplication (dependent chain = latency), both builds.
var kernelAcc: Fr = 3
let kernelMul = measure(seconds: duration / 2) {
  kernelAcc = kernelAcc.kernelMultiplyChain(by: kernelAcc + 7, count: 100_000)
}
let kernelMulNs = kernelMul.cpu / Double(kernelMul.iterations * 100_000) * 1e9
let portableMul = measure(seconds: duration / 2) {
  kernelAcc = kernelAcc.kernelMultiplyChain(by: kernelAcc + 7, count: 100_000, portable: true)
}
let portableMulNs = portableMul.cpu / Double(portableMul.iterations * 100_000) * 1e9
JSONLine.emit(
  "fr_mul_c_kernel_1core", kernelMulNs, "ns/mul",
  [
    "kernel": Poseidon2.usesBMI2 ? "\"c-bmi2-adx\"" : "\"c-generic\"",
    "baseline_portable_c_ns": JSONLine.fixed(portableMulNs, 2), "loadavg": load,
  ])
JSONLine.emit("fr_mul_c_portable_1core", portableMulNs, "ns/mul", ["loadavg": load])

// Field multiplication alone (a dependent chain, so this is latency), for reading the permutation figure.
func chainMultiplications(_ count: Int, _ start: Fr) -> Fr {
  var x = start
  let y = start + 7
  for _ in 0..<count { x = x * y }
  return x
}
var acc: Fr = 3
let mul = measure(seconds: duration / 2) { acc = chainMultiplications(100_000, acc) }
JSONLine.emit(
  "fr_mul_1core", mul.cpu / Double(mul.iterations * 100_000) * 1e9, "ns/mul",
  [
    "impl": "\"swift\"", "baseline_c_kernel_ns": JSONLine.fixed(kernelMulNs, 2), "loadavg": load,
    "muls_per_permutation": "240",
  ])

func chainMultiplications2(_ count: Int, _ start: Fr) -> Fr {
  var x = start
  var w = start + 1
  let y = start + 7
  for _ in 0..<count {
    x = x * y
    w = w * y
  }
  return x + w
}
let mul2 = measure(seconds: duration / 2) { acc = chainMultiplications2(100_000, acc) }
JSONLine.emit(
  "fr_mul_2chains_1core", mul2.cpu / Double(mul2.iterations * 200_000) * 1e9, "ns/mul", ["loadavg": load])

// 2. Block digest tree over 64 KiB blocks (2048-byte cells, 32 leaves).
let blockSize = 65536
let blockCount = quick ? 8 : 32
var seed: UInt64 = 0x1234_5678
let blocks: [[UInt8]] = (0..<blockCount).map { _ in
  (0..<blockSize).map { _ in
    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return UInt8(truncatingIfNeeded: seed >> 33)
  }
}
let megabytes = Double(blockSize * blockCount) / 1_048_576

let single = measure(seconds: duration) {
  for b in blocks { _ = try! BlockDigest.digest(block: b) }
}
// Baseline: SHA-256 (swift-crypto) of the same bytes, one core.
let sha = measure(seconds: duration) {
  for b in blocks { _ = SHA256.hash(data: b) }
}
// Baseline: the same digests with one scalar sponge per cell (the path without the IFMA batch kernel).
func scalarBlockDigest(_ b: [UInt8]) -> Fr {
  let leaves = b.withUnsafeBytes { buf in
    stride(from: 0, to: buf.count, by: BlockDigest.defaultCellSize).map { start in
      Poseidon2Sponge.digest(
        bytes: UnsafeRawBufferPointer(rebasing: buf[start..<(start + BlockDigest.defaultCellSize)]))
    }
  }
  return try! Poseidon2Tree.root(leaves: leaves)
}
let scalarCells = measure(seconds: duration) {
  for b in blocks { _ = scalarBlockDigest(b) }
}
let singleMBs = megabytes * Double(single.iterations) / single.cpu
let shaMBs = megabytes * Double(sha.iterations) / sha.cpu
let scalarCellsMBs = megabytes * Double(scalarCells.iterations) / scalarCells.cpu
JSONLine.emit(
  "block_digest_tree_1core", singleMBs, "MB/s",
  [
    "block_bytes": "\(blockSize)", "wall_MBps": JSONLine.fixed(megabytes * Double(single.iterations) / single.wall, 2),
    "baseline_sha256_MBps": JSONLine.fixed(shaMBs, 1), "loadavg": load,
    "baseline_scalar_sponge_per_cell_MBps": JSONLine.fixed(scalarCellsMBs, 2),
    "speedup_vs_scalar": JSONLine.fixed(singleMBs / scalarCellsMBs, 2),
    "same_result": (try! BlockDigest.digest(block: blocks[0])) == scalarBlockDigest(blocks[0]) ? "true" : "false",
    "kernel": Poseidon2.usesIFMA ? "\"ifma-batch8\"" : "\"scalar\"",
  ])

let shared = blocks
let parallel = measureWall(seconds: duration) {
  DispatchQueue.concurrentPerform(iterations: shared.count) { i in _ = try! BlockDigest.digest(block: shared[i]) }
}
let parallelMBs = megabytes * Double(parallel.iterations) / parallel.wall
let singleWallMBs = megabytes * Double(single.iterations) / single.wall
JSONLine.emit(
  "block_digest_tree_allcores_wall", parallelMBs, "MB/s",
  [
    "cores": "\(cores)", "speedup_vs_1core_wall": JSONLine.fixed(parallelMBs / singleWallMBs, 2),
    "baseline_sha256_1core_MBps": JSONLine.fixed(shaMBs, 1), "loadavg": load,
  ])
JSONLine.emit("sha256_baseline_1core", shaMBs, "MB/s", ["loadavg": load])
