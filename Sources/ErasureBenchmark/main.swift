// ErasureBenchmark: Leopard-compatible Reed-Solomon throughput, with Intel ISA-L as a same-run baseline.
// Run: swift run -c release ErasureBenchmark [--quick]
// Prints one JSON object per line: name, value, unit, plus parameters.
import CodexErasure
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

// Oracle mode for scripts/ci.d/30-erasure.sh: `ErasureBenchmark --encode-file K M IN OUT` reads K equally
// sized shards concatenated in IN and writes the M parity shards concatenated to OUT.
if CommandLine.arguments.count == 6, CommandLine.arguments[1] == "--encode-file" {
  let args = CommandLine.arguments
  guard let k = Int(args[2]), let m = Int(args[3]), k > 0,
    let input = FileManager.default.contents(atPath: args[4]), input.count % k == 0
  else {
    FileHandle.standardError.write(
      "usage: ErasureBenchmark --encode-file K M IN OUT (IN = K shards)\n".data(using: .utf8)!)
    exit(2)
  }
  let size = input.count / k
  let bytes = [UInt8](input)
  let shards = (0..<k).map { Array(bytes[($0 * size)..<(($0 + 1) * size)]) }
  do {
    let parity = try LeopardCodec(dataShards: k, parityShards: m).encode(shards)
    _ = FileManager.default.createFile(atPath: args[5], contents: Data(parity.joined()))
    exit(0)
  } catch {
    FileHandle.standardError.write("\(error)\n".data(using: .utf8)!)
    exit(1)
  }
}

let quick = CommandLine.arguments.contains("--quick")
let shardSize = 64 * 1024
let minDuration: Duration = quick ? .milliseconds(60) : .milliseconds(600)
let cores = ProcessInfo.processInfo.activeProcessorCount

func emit(_ fields: [(String, Any)]) {
  let parts = fields.map { key, value -> String in
    switch value {
    case let s as String: return "\"\(key)\":\"\(s)\""
    case let d as Double: return "\"\(key)\":\((d * 1000).rounded() / 1000)"
    default: return "\"\(key)\":\(value)"
    }
  }
  print("{" + parts.joined(separator: ",") + "}")
  fflush(nil)
}

func cpuSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func wallSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` repeatedly for at least `minDuration`; returns seconds per iteration. Single-threaded runs are
/// timed in process CPU time (robust on a shared machine), multi-threaded runs in wall time; `cpu` is always
/// the process CPU time per iteration (for multi-threaded runs: all threads together, so cpu ≈ single-thread
/// time means the split costs nothing and the wall speed-up on an idle machine approaches the thread count).
func measure(threads: Int = 1, _ body: () -> Void) -> (seconds: Double, cpu: Double) {
  for _ in 0..<3 { body() }
  let limit = Double(minDuration.components.attoseconds) * 1e-18 + Double(minDuration.components.seconds)
  var iterations = 0
  let wall0 = wallSeconds()
  let cpu0 = cpuSeconds()
  repeat {
    body()
    iterations += 1
  } while (threads == 1 ? cpuSeconds() - cpu0 : wallSeconds() - wall0) < limit
  let cpu = (cpuSeconds() - cpu0) / Double(iterations)
  let wall = (wallSeconds() - wall0) / Double(iterations)
  return (threads == 1 ? cpu : wall, cpu)
}

final class Buffers {
  let data: [UnsafeMutableRawBufferPointer]
  let parity: [UnsafeMutableRawBufferPointer]
  let spare: [UnsafeMutableRawBufferPointer]
  init(k: Int, m: Int) {
    func alloc() -> UnsafeMutableRawBufferPointer {
      let p = UnsafeMutableRawBufferPointer.allocate(byteCount: shardSize, alignment: 64)
      var state = UInt64.random(in: 1...UInt64.max)
      for i in stride(from: 0, to: shardSize, by: 8) {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        p.storeBytes(of: state, toByteOffset: i, as: UInt64.self)
      }
      return p
    }
    data = (0..<k).map { _ in alloc() }
    parity = (0..<m).map { _ in alloc() }
    spare = (0..<k).map { _ in alloc() }
  }
  deinit { (data + parity + spare).forEach { $0.deallocate() } }
}

func gbps(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / 1e9 }

let shapes = [(2, 1), (10, 4), (16, 16), (64, 32), (200, 100)]
for (k, m) in shapes {
  let codec = try LeopardCodec(dataShards: k, parityShards: m)
  let buffers = Buffers(k: k, m: m)
  let data = buffers.data.map { UnsafeRawBufferPointer($0) }
  for threads in Set([1, cores]).sorted() {
    let t = measure(threads: threads) { try! codec.encode(data: data, parity: buffers.parity, concurrency: threads) }
    emit([
      ("name", "leopard_encode"), ("k", k), ("m", m), ("field", codec.field.description), ("threads", threads),
      ("clock", threads == 1 ? "cpu" : "wall"),
      ("kernels", "\(codec.kernels)"), ("value", gbps(k * shardSize, t.seconds)),
      ("cpu_value", gbps(k * shardSize, t.cpu)), ("unit", "GB/s of data shards"),
    ])
  }
  // Worst case: M data shards lost (at most K), recovered from the parity.
  let lost = min(m, k)
  var present: [UnsafeRawBufferPointer?] = data
  var recovered = [UnsafeMutableRawBufferPointer?](repeating: nil, count: k)
  for j in 0..<lost {
    present[j] = nil
    recovered[j] = buffers.spare[j]
  }
  let parity = buffers.parity.map { Optional(UnsafeRawBufferPointer($0)) }
  try codec.decode(data: present, parity: parity, recovered: recovered)
  let ok = (0..<lost).allSatisfy { memcmp(buffers.spare[$0].baseAddress!, data[$0].baseAddress!, shardSize) == 0 }
  precondition(ok, "decode mismatch K=\(k) M=\(m)")
  for threads in Set([1, cores]).sorted() {
    let t = measure(threads: threads) {
      try! codec.decode(data: present, parity: parity, recovered: recovered, concurrency: threads)
    }
    emit([
      ("name", "leopard_decode"), ("k", k), ("m", m), ("lost", lost), ("threads", threads),
      ("clock", threads == 1 ? "cpu" : "wall"),
      ("value", gbps(k * shardSize, t.seconds)), ("cpu_value", gbps(k * shardSize, t.cpu)),
      ("unit", "GB/s of data shards"),
    ])
  }
}

// Single lost block for (10, 4): data shard 0 missing, all parity present.
do {
  let (k, m) = (10, 4)
  let codec = try LeopardCodec(dataShards: k, parityShards: m)
  let buffers = Buffers(k: k, m: m)
  let data = buffers.data.map { UnsafeRawBufferPointer($0) }
  try codec.encode(data: data, parity: buffers.parity)
  var present: [UnsafeRawBufferPointer?] = data
  present[0] = nil
  var recovered = [UnsafeMutableRawBufferPointer?](repeating: nil, count: k)
  recovered[0] = buffers.spare[0]
  let parity = buffers.parity.map { Optional(UnsafeRawBufferPointer($0)) }
  let t = measure { try! codec.decode(data: present, parity: parity, recovered: recovered) }
  precondition(memcmp(buffers.spare[0].baseAddress!, data[0].baseAddress!, shardSize) == 0)
  emit([
    ("name", "leopard_recover_one_block"), ("k", k), ("m", m), ("threads", 1),
    ("value", Double(shardSize) / t.seconds / 1e6), ("unit", "MB/s of recovered block"),
  ])
  emit([
    ("name", "leopard_recover_one_block_input"), ("k", k), ("m", m), ("threads", 1),
    ("value", gbps(k * shardSize, t.seconds)), ("unit", "GB/s of data shards"),
  ])
  // The same encode with each kernel set, to show what the SIMD paths buy.
  for kernels in ErasureKernels.allCases where kernels <= .best {
    let c = try LeopardCodec(dataShards: k, parityShards: m, kernels: kernels)
    let t = measure { try! c.encode(data: data, parity: buffers.parity) }
    emit([
      ("name", "leopard_encode_kernels"), ("k", k), ("m", m), ("threads", 1), ("kernels", "\(kernels)"),
      ("value", gbps(k * shardSize, t.seconds)), ("cpu_value", gbps(k * shardSize, t.cpu)),
      ("unit", "GB/s of data shards"),
    ])
  }
}

// Baseline: ISA-L ec_encode_data (Cauchy matrix, its best SIMD path), loaded at run time so the package does
// not need libisal at build time.
typealias GenMatrix = @convention(c) (UnsafeMutablePointer<UInt8>?, Int32, Int32) -> Void
typealias InitTables = @convention(c) (Int32, Int32, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?) -> Void
typealias EncodeData =
  @convention(c) (
    Int32, Int32, Int32, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?
  ) -> Void

if let lib = dlopen("libisal.so.2", RTLD_NOW) ?? dlopen("libisal.so", RTLD_NOW),
  let genSym = dlsym(lib, "gf_gen_cauchy1_matrix"), let initSym = dlsym(lib, "ec_init_tables"),
  let encSym = dlsym(lib, "ec_encode_data")
{
  let gen = unsafeBitCast(genSym, to: GenMatrix.self)
  let initTables = unsafeBitCast(initSym, to: InitTables.self)
  let encode = unsafeBitCast(encSym, to: EncodeData.self)
  let (k, m) = (10, 4)
  let buffers = Buffers(k: k, m: m)
  var matrix = [UInt8](repeating: 0, count: (k + m) * k)
  var tables = [UInt8](repeating: 0, count: k * m * 32)
  gen(&matrix, Int32(k + m), Int32(k))
  matrix.withUnsafeMutableBufferPointer { mp in initTables(Int32(k), Int32(m), mp.baseAddress! + k * k, &tables) }
  var dataPtrs: [UnsafeMutablePointer<UInt8>?] = buffers.data.map {
    $0.baseAddress!.assumingMemoryBound(to: UInt8.self)
  }
  var parityPtrs: [UnsafeMutablePointer<UInt8>?] = buffers.parity.map {
    $0.baseAddress!.assumingMemoryBound(to: UInt8.self)
  }
  let t = measure { encode(Int32(shardSize), Int32(k), Int32(m), &tables, &dataPtrs, &parityPtrs) }
  emit([
    ("name", "isal_encode_baseline"), ("k", k), ("m", m), ("threads", 1), ("value", gbps(k * shardSize, t.seconds)),
    ("unit", "GB/s of data shards"),
  ])
} else {
  emit([("name", "isal_encode_baseline"), ("error", "libisal.so.2 not found"), ("value", 0), ("unit", "GB/s")])
}
