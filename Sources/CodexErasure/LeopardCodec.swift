import CErasureSIMD

/// Which SIMD kernels the codec may use. The codec uses the best one the CPU supports, never more than asked.
public enum ErasureKernels: Int, Sendable, Comparable, CaseIterable {
  /// Portable C, one byte (GF(2^8)) or one 64-byte unit (GF(2^16)) at a time via nibble tables.
  case portable = 0
  /// AVX2 `vpshufb` split-nibble tables.
  case avx2 = 1
  /// AVX2 with GFNI `vgf2p8affineqb` (multiplication by a constant is an 8×8 bit matrix).
  case avx2GFNI = 2
  /// AVX-512BW with GFNI.
  case avx512GFNI = 3

  /// The best kernel set available on this CPU.
  public static let best = ErasureKernels(rawValue: Int(cer_detect_isa())) ?? .portable

  public static func < (a: ErasureKernels, b: ErasureKernels) -> Bool { a.rawValue < b.rawValue }
}

/// A Reed-Solomon erasure codec bit-identical with Leopard-RS (status-im/leopard, as used by nim-codex):
/// `K` data shards, `M` parity shards, GF(2^8) when `NextPow2(NextPow2(M) + K) ≤ 256`, else GF(2^16), and plain
/// XOR when `M = 1`.
///
/// Shards are byte buffers of one common size, a positive multiple of 64. All methods are synchronous,
/// thread-safe and CPU-bound; `concurrency` > 1 splits the shard byte range across that many threads. Use the
/// `async` variants to keep the work off an event loop.
public struct LeopardCodec: Sendable {
  /// `K`.
  public let dataShards: Int
  /// `M`.
  public let parityShards: Int
  /// The arithmetic Leopard uses for these counts.
  public let field: ReedSolomonField
  /// The kernels in use (the requested set, capped at what the CPU supports).
  public let kernels: ErasureKernels
  let encodePlan: ShardPlan

  /// How decode computes recovered shards (results are identical; tests force each one).
  enum DecodeStrategy: Sendable { case automatic, transform, combination }
  var decodeStrategy = DecodeStrategy.automatic

  /// Validates `1 ≤ M ≤ K` and `K + M ≤ 65536` and prepares the encoder.
  public init(dataShards k: Int, parityShards m: Int, kernels: ErasureKernels = .best) throws(ErasureError) {
    guard k >= 1 else { throw .invalidCounts(dataShards: k, parityShards: m, reason: "need at least one data shard") }
    guard m >= 1 else { throw .invalidCounts(dataShards: k, parityShards: m, reason: "need at least one parity shard") }
    guard m <= k else {
      throw .invalidCounts(dataShards: k, parityShards: m, reason: "parity shards must not outnumber data shards")
    }
    guard k <= 65536 - m else {
      throw .invalidCounts(dataShards: k, parityShards: m, reason: "at most 65536 shards in total")
    }
    self.dataShards = k
    self.parityShards = m
    self.field = ReedSolomonField.select(dataShards: k, parityShards: m)
    self.kernels = min(kernels, ErasureKernels.best)
    self.encodePlan = LeopardPlans.encode(k: k, m: m, field: field)
  }

  private static func checkSize(_ sizes: [Int]) throws(ErasureError) -> Int {
    guard let first = sizes.first else { return 0 }
    guard first > 0, first % 64 == 0 else { throw .invalidShardSize(first) }
    for (i, s) in sizes.enumerated() where s != first {
      throw .shardSizeMismatch(expected: first, found: s, shard: i)
    }
    return first
  }

  // MARK: encode

  /// Computes the `M` parity shards of `K` data shards into caller buffers. All buffers must have the same
  /// size; `parity` must not overlap `data`.
  public func encode(
    data: [UnsafeRawBufferPointer], parity: [UnsafeMutableRawBufferPointer], concurrency: Int = 1
  ) throws(ErasureError) {
    guard data.count == dataShards else {
      throw .wrongShardCount(kind: "data", expected: dataShards, found: data.count)
    }
    guard parity.count == parityShards else {
      throw .wrongShardCount(kind: "parity", expected: parityShards, found: parity.count)
    }
    let size = try Self.checkSize(data.map(\.count) + parity.map(\.count))
    let pointers = ShardPointers(
      inputs: data.map { $0.baseAddress! }, outputs: parity.map { $0.baseAddress! })
    encodePlan.run(pointers, shardSize: size, isa: Int32(kernels.rawValue), concurrency: concurrency)
  }

  /// Returns the `M` parity shards of `K` equally sized data shards.
  public func encode(_ data: [[UInt8]], concurrency: Int = 1) throws(ErasureError) -> [[UInt8]] {
    guard data.count == dataShards else {
      throw .wrongShardCount(kind: "data", expected: dataShards, found: data.count)
    }
    let size = try Self.checkSize(data.map(\.count))
    let out = UnsafeMutableRawPointer.allocate(byteCount: size * parityShards, alignment: 64)
    defer { out.deallocate() }
    let parity = (0..<parityShards).map { UnsafeMutableRawBufferPointer(start: out + $0 * size, count: size) }
    withRawPointers(data) { ptrs in
      let pointers = ShardPointers(inputs: ptrs, outputs: parity.map { $0.baseAddress! })
      encodePlan.run(pointers, shardSize: size, isa: Int32(kernels.rawValue), concurrency: concurrency)
    }
    return parity.map { [UInt8]($0) }
  }

  /// `encode` on a detached task, for callers on an event loop.
  public func encodeAsync(_ data: [[UInt8]], concurrency: Int = 1) async throws(ErasureError) -> [[UInt8]] {
    let result = await Task.detached { () -> Result<[[UInt8]], ErasureError> in
      do throws(ErasureError) { return .success(try encode(data, concurrency: concurrency)) } catch {
        return .failure(error)
      }
    }.value
    return try result.get()
  }

  // MARK: decode

  /// Recovers missing data shards. `data` has `K` slots and `parity` `M` slots, `nil` where the shard is
  /// absent. For every absent data shard `j` with `recovered[j] != nil`, the shard is written there (other
  /// absent shards are skipped, which saves work). Requires `present parity ≥ absent data`.
  public func decode(
    data: [UnsafeRawBufferPointer?], parity: [UnsafeRawBufferPointer?],
    recovered: [UnsafeMutableRawBufferPointer?], concurrency: Int = 1
  ) throws(ErasureError) {
    guard data.count == dataShards else {
      throw .wrongShardCount(kind: "data", expected: dataShards, found: data.count)
    }
    guard parity.count == parityShards else {
      throw .wrongShardCount(kind: "parity", expected: parityShards, found: parity.count)
    }
    guard recovered.count == dataShards else {
      throw .wrongShardCount(kind: "recovered", expected: dataShards, found: recovered.count)
    }
    let wanted = (0..<dataShards).filter { data[$0] == nil && recovered[$0] != nil }
    let sizes = data.compactMap { $0?.count } + parity.compactMap { $0?.count } + wanted.map { recovered[$0]!.count }
    let size = try Self.checkSize(sizes)
    let dataPresent = data.map { $0 != nil }
    let parityPresent = parity.map { $0 != nil }
    let missing = dataPresent.count { !$0 }
    let available = parityPresent.count { $0 }
    guard missing <= available else { throw .tooManyErasures(missingData: missing, presentParity: available) }
    if wanted.isEmpty { return }
    // Any K shards determine the data: read only as many parity shards as data shards are missing.
    var needed = missing
    let parityUsed = parityPresent.map { present in
      guard present, needed > 0 else { return false }
      needed -= 1
      return true
    }
    var plan = LeopardPlans.decode(
      k: dataShards, m: parityShards, field: field, dataPresent: dataPresent, parityPresent: parityUsed,
      wanted: wanted)
    let combine: Bool
    switch decodeStrategy {
    case .automatic:
      // One multiply-add pass per (output, input) pair against the transform's operation count; the pairs
      // each need their own multiplier table, so keep the count bounded.
      let pairs = wanted.count * dataShards
      // The coefficients come from one run of the transform on probe shards of about K elements, which
      // must stay small next to the real shards.
      let probeBytes = 64 * ((dataShards + 31) / 32)
      combine = pairs <= 4096 && pairs < plan.ops.count && probeBytes * 4 <= size
    case .transform: combine = false
    case .combination: combine = true
    }
    if field != .xor && combine {
      let used = LeopardPlans.usedInputs(k: dataShards, dataPresent: dataPresent, parityPresent: parityUsed)
      plan = LeopardPlans.combination(of: plan, field: field, used: used)
    }
    // Absent inputs are never read by the plan; any valid address will do.
    let placeholder = UnsafeRawPointer(recovered[wanted[0]]!.baseAddress!)
    let inputs = data.map { $0?.baseAddress ?? placeholder } + parity.map { $0?.baseAddress ?? placeholder }
    let pointers = ShardPointers(inputs: inputs, outputs: wanted.map { recovered[$0]!.baseAddress! })
    plan.run(pointers, shardSize: size, isa: Int32(kernels.rawValue), concurrency: concurrency)
  }

  /// Returns all `K` data shards, recovering the absent ones from the present data and parity shards.
  public func decode(data: [[UInt8]?], parity: [[UInt8]?], concurrency: Int = 1) throws(ErasureError) -> [[UInt8]] {
    guard data.count == dataShards else {
      throw .wrongShardCount(kind: "data", expected: dataShards, found: data.count)
    }
    guard parity.count == parityShards else {
      throw .wrongShardCount(kind: "parity", expected: parityShards, found: parity.count)
    }
    let present = data.compactMap { $0 } + parity.compactMap { $0 }
    let size = try Self.checkSize(present.map(\.count))
    let missing = (0..<dataShards).filter { data[$0] == nil }
    if missing.isEmpty { return data.map { $0! } }
    guard size > 0 else { throw .tooManyErasures(missingData: missing.count, presentParity: 0) }
    let out = UnsafeMutableRawPointer.allocate(byteCount: size * missing.count, alignment: 64)
    defer { out.deallocate() }
    var recovered = [UnsafeMutableRawBufferPointer?](repeating: nil, count: dataShards)
    for (i, j) in missing.enumerated() {
      recovered[j] = UnsafeMutableRawBufferPointer(start: out + i * size, count: size)
    }
    var thrown: ErasureError?
    withRawPointers(present) { ptrs in
      var index = 0
      var dataPtrs: [UnsafeRawBufferPointer?] = []
      var parityPtrs: [UnsafeRawBufferPointer?] = []
      for d in data {
        if d != nil {
          dataPtrs.append(UnsafeRawBufferPointer(start: ptrs[index], count: size)); index += 1
        } else {
          dataPtrs.append(nil)
        }
      }
      for p in parity {
        if p != nil {
          parityPtrs.append(UnsafeRawBufferPointer(start: ptrs[index], count: size)); index += 1
        } else {
          parityPtrs.append(nil)
        }
      }
      do throws(ErasureError) {
        try decode(data: dataPtrs, parity: parityPtrs, recovered: recovered, concurrency: concurrency)
      } catch { thrown = error }
    }
    if let thrown { throw thrown }
    return (0..<dataShards).map { j in data[j] ?? [UInt8](UnsafeRawBufferPointer(recovered[j]!)) }
  }

  /// `decode` on a detached task, for callers on an event loop.
  public func decodeAsync(data: [[UInt8]?], parity: [[UInt8]?], concurrency: Int = 1) async throws(ErasureError)
    -> [[UInt8]]
  {
    let result = await Task.detached { () -> Result<[[UInt8]], ErasureError> in
      do throws(ErasureError) {
        return .success(try decode(data: data, parity: parity, concurrency: concurrency))
      } catch {
        return .failure(error)
      }
    }.value
    return try result.get()
  }
}

/// Calls `body` with stable base addresses of every array. Nests `withUnsafeBytes` for small counts and
/// copies into one contiguous buffer for large ones (to bound stack depth).
func withRawPointers<R>(_ arrays: [[UInt8]], _ body: ([UnsafeRawPointer]) -> R) -> R {
  if arrays.count > 256 {
    let size = arrays.first?.count ?? 0
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, size * arrays.count), alignment: 64)
    defer { buffer.deallocate() }
    var ptrs: [UnsafeRawPointer] = []
    for (i, a) in arrays.enumerated() {
      a.withUnsafeBytes { (buffer + i * size).copyMemory(from: $0.baseAddress!, byteCount: size) }
      ptrs.append(UnsafeRawPointer(buffer + i * size))
    }
    return body(ptrs)
  }
  var ptrs: [UnsafeRawPointer] = []
  ptrs.reserveCapacity(arrays.count)
  func nest(_ i: Int) -> R {
    if i == arrays.count { return body(ptrs) }
    return arrays[i].withUnsafeBytes { raw in
      ptrs.append(raw.baseAddress!)
      return nest(i + 1)
    }
  }
  return nest(0)
}
