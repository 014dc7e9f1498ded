import Testing

@testable import CodexErasure

@Suite struct LeopardCodecTests {
  static let kernelSets = ErasureKernels.allCases.filter { $0 <= .best }

  @Test(arguments: kernelSets)
  func vectorsEncodeBitIdentical(kernels: ErasureKernels) throws {
    let vectors = try loadLeopardVectors()
    #expect(vectors.count >= 5)
    for v in vectors {
      let codec = try LeopardCodec(dataShards: v.k, parityShards: v.m, kernels: kernels)
      let expectedField = v.m == 1 ? ReedSolomonField.xor : (v.leopard_field == "GF(2^8)" ? .gf8 : .gf16)
      #expect(codec.field == expectedField)
      let data = v.original.map(hexBytes)
      #expect(data.allSatisfy { $0.count == v.shard_bytes })
      let parity = try codec.encode(data)
      #expect(parity == v.parity.map(hexBytes), "K=\(v.k) M=\(v.m) kernels=\(kernels)")
    }
  }

  @Test func vectorsDecodeRandomPatterns() throws {
    var rng = SplitMix(seed: 1)
    for v in try loadLeopardVectors() {
      let codec = try LeopardCodec(dataShards: v.k, parityShards: v.m)
      let data = v.original.map(hexBytes)
      let parity = v.parity.map(hexBytes)
      let trials = v.k > 100 ? 4 : 20
      for _ in 0..<trials {
        let lost = Set((0..<(v.k + v.m)).shuffled(using: &rng).prefix(Int.random(in: 1...v.m, using: &rng)))
        let d = (0..<v.k).map { lost.contains($0) ? nil : data[$0] }
        let p = (0..<v.m).map { lost.contains(v.k + $0) ? nil : parity[$0] }
        #expect(try codec.decode(data: d, parity: p) == data, "K=\(v.k) M=\(v.m) lost=\(lost.sorted())")
      }
    }
  }

  /// Planned SIMD encoder == naive element-wise encoder for many shapes, both fields.
  @Test func encodeMatchesReferenceAlgorithm() throws {
    var rng = SplitMix(seed: 2)
    let shapes = [
      (2, 2), (3, 3), (5, 2), (7, 3), (8, 8), (9, 4), (10, 4), (17, 5), (33, 31), (64, 32), (100, 28), (128, 128),
      (254, 2), (255, 2), (129, 127), (300, 17), (5, 1), (1, 1),
    ]
    for (k, m) in shapes {
      let codec = try LeopardCodec(dataShards: k, parityShards: m)
      let data = randomShards(k, size: 64, rng: &rng)
      #expect(try codec.encode(data) == ReferenceLeopard.encode(data, m: m), "K=\(k) M=\(m)")
    }
  }

  /// Every pattern of up to M lost shards (data or parity) decodes, for small shapes.
  @Test(arguments: [(2, 1), (3, 2), (4, 2), (4, 4), (5, 3), (6, 4), (8, 3)])
  func everyErasurePattern(k: Int, m: Int) throws {
    var rng = SplitMix(seed: UInt64(k * 100 + m))
    let codec = try LeopardCodec(dataShards: k, parityShards: m)
    let data = randomShards(k, size: 128, rng: &rng)
    let parity = try codec.encode(data)
    let n = k + m
    var failures: [Int] = []
    for mask in 0..<(1 << n) where mask.nonzeroBitCount <= m {
      let d = (0..<k).map { mask >> $0 & 1 == 1 ? nil : data[$0] }
      let p = (0..<m).map { mask >> (k + $0) & 1 == 1 ? nil : parity[$0] }
      if try codec.decode(data: d, parity: p) != data { failures.append(mask) }
    }
    #expect(failures.isEmpty, "K=\(k) M=\(m) failing masks \(failures.prefix(8))")
  }

  /// The transform decode and the coefficient (linear combination) decode agree on every pattern.
  @Test(arguments: [(10, 4), (16, 16), (200, 100), (33, 7)])
  func decodeStrategiesAgree(k: Int, m: Int) throws {
    var rng = SplitMix(seed: UInt64(k * 7 + m))
    var transform = try LeopardCodec(dataShards: k, parityShards: m)
    transform.decodeStrategy = .transform
    var combination = transform
    combination.decodeStrategy = .combination
    let data = randomShards(k, size: 128, rng: &rng)
    let parity = try transform.encode(data)
    for count in [1, 2, m] {
      let lost = Set((0..<(k + m)).shuffled(using: &rng).prefix(count))
      let d = (0..<k).map { lost.contains($0) ? nil : data[$0] }
      let p = (0..<m).map { lost.contains(k + $0) ? nil : parity[$0] }
      #expect(try transform.decode(data: d, parity: p) == data, "transform K=\(k) M=\(m) lost \(lost.sorted())")
      #expect(try combination.decode(data: d, parity: p) == data, "combination K=\(k) M=\(m) lost \(lost.sorted())")
    }
  }

  /// Random shapes, including K + M > 256 (GF(2^16)), random loss patterns up to M.
  @Test func randomShapesRoundTrip() throws {
    var rng = SplitMix(seed: 3)
    var shapes: [(Int, Int)] = [(200, 100), (255, 2), (129, 127), (400, 300), (1000, 24), (16, 16), (10, 4)]
    for _ in 0..<24 {
      let k = Int.random(in: 2...160, using: &rng)
      shapes.append((k, Int.random(in: 1...k, using: &rng)))
    }
    for (k, m) in shapes {
      let codec = try LeopardCodec(dataShards: k, parityShards: m)
      let data = randomShards(k, size: 64, rng: &rng)
      let parity = try codec.encode(data)
      let losses = [1, m, Int.random(in: 1...m, using: &rng)]
      for count in losses {
        let lost = Set((0..<(k + m)).shuffled(using: &rng).prefix(count))
        let d = (0..<k).map { lost.contains($0) ? nil : data[$0] }
        let p = (0..<m).map { lost.contains(k + $0) ? nil : parity[$0] }
        #expect(try codec.decode(data: d, parity: p) == data, "K=\(k) M=\(m) lost \(count) [\(codec.field)]")
      }
    }
  }

  /// All kernel sets produce identical parity and recoveries on multi-chunk shards, and concurrency does not
  /// change results.
  @Test func kernelsAndConcurrencyAgree() throws {
    var rng = SplitMix(seed: 4)
    for (k, m) in [(10, 4), (16, 16), (200, 100)] {
      let size = k > 100 ? 4096 : (k == 10 ? 49152 : 16384)
      let data = randomShards(k, size: size, rng: &rng)
      let reference = try LeopardCodec(dataShards: k, parityShards: m, kernels: .portable).encode(data)
      let lost = Set((0..<k).shuffled(using: &rng).prefix(m))
      let d = (0..<k).map { lost.contains($0) ? nil : data[$0] }
      for kernels in Self.kernelSets {
        let codec = try LeopardCodec(dataShards: k, parityShards: m, kernels: kernels)
        for threads in [1, 3] {
          #expect(try codec.encode(data, concurrency: threads) == reference, "K=\(k) M=\(m) \(kernels) x\(threads)")
          #expect(try codec.decode(data: d, parity: reference, concurrency: threads) == data, "\(kernels)")
        }
      }
    }
  }

  /// Only requested absent shards are produced; absent shards without a target are skipped.
  @Test func partialRecoveryWritesOnlyRequested() throws {
    var rng = SplitMix(seed: 5)
    let codec = try LeopardCodec(dataShards: 10, parityShards: 4)
    let data = randomShards(10, size: 256, rng: &rng)
    let parity = try codec.encode(data)
    var out = [UInt8](repeating: 0xAA, count: 256)
    try data.withRawBuffers { dataPtrs in
      try parity.withRawBuffers { parityPtrs in
        try out.withUnsafeMutableBytes { o in
          var d: [UnsafeRawBufferPointer?] = dataPtrs
          d[3] = nil
          d[7] = nil
          var rec = [UnsafeMutableRawBufferPointer?](repeating: nil, count: 10)
          rec[7] = o
          try codec.decode(data: d, parity: [nil, parityPtrs[1], parityPtrs[2], nil], recovered: rec)
          // A present shard's target is ignored, and nothing is wanted: no work, no error.
          var none = [UnsafeMutableRawBufferPointer?](repeating: nil, count: 10)
          none[0] = o
          try codec.decode(data: d, parity: [nil, parityPtrs[1], parityPtrs[2], nil], recovered: none)
        }
      }
    }
    #expect(out == data[7])
  }

  /// The pointer API accepts buffers at any alignment and matches the array API.
  @Test(arguments: [(10, 4), (200, 100)])
  func unalignedBuffers(k: Int, m: Int) throws {
    var rng = SplitMix(seed: 8)
    let size = 1024
    let codec = try LeopardCodec(dataShards: k, parityShards: m)
    let data = randomShards(k, size: size, rng: &rng)
    let expected = try codec.encode(data)
    let stride = size + 7
    var input = [UInt8](repeating: 0, count: 3 + k * stride)
    for j in 0..<k { input.replaceSubrange((3 + j * stride)..<(3 + j * stride + size), with: data[j]) }
    var output = [UInt8](repeating: 0, count: 5 + m * stride)
    var recovered = [UInt8](repeating: 0, count: 1 + size)
    try input.withUnsafeBytes { inp in
      try output.withUnsafeMutableBytes { out in
        let d = (0..<k).map { UnsafeRawBufferPointer(rebasing: inp[(3 + $0 * stride)..<(3 + $0 * stride + size)]) }
        let p = (0..<m).map {
          UnsafeMutableRawBufferPointer(rebasing: out[(5 + $0 * stride)..<(5 + $0 * stride + size)])
        }
        try codec.encode(data: d, parity: p)
        try recovered.withUnsafeMutableBytes { rec in
          var present: [UnsafeRawBufferPointer?] = d
          present[1] = nil
          var targets = [UnsafeMutableRawBufferPointer?](repeating: nil, count: k)
          targets[1] = UnsafeMutableRawBufferPointer(rebasing: rec[1...])
          try codec.decode(data: present, parity: p.map { UnsafeRawBufferPointer($0) }, recovered: targets)
        }
      }
    }
    for i in 0..<m { #expect(Array(output[(5 + i * stride)..<(5 + i * stride + size)]) == expected[i]) }
    #expect(Array(recovered[1...]) == data[1])
  }

  @Test func asyncWrappers() async throws {
    var rng = SplitMix(seed: 6)
    let codec = try LeopardCodec(dataShards: 4, parityShards: 2)
    let data = randomShards(4, size: 64, rng: &rng)
    let parity = try await codec.encodeAsync(data)
    #expect(parity == (try codec.encode(data)))
    #expect(try await codec.decodeAsync(data: [nil, data[1], nil, data[3]], parity: parity) == data)
  }

  // MARK: bad input

  @Test func invalidCounts() {
    for (k, m) in [(0, 0), (0, 1), (1, 0), (3, 4), (-1, 1), (2, -5), (65000, 600), (65536, 1), (Int.max, 1)] {
      #expect(throws: ErasureError.self, "K=\(k) M=\(m)") { try LeopardCodec(dataShards: k, parityShards: m) }
    }
    #expect((try? LeopardCodec(dataShards: 65535, parityShards: 1)) != nil)
    #expect((try? LeopardCodec(dataShards: 2048, parityShards: 2048))?.field == .gf16)
  }

  @Test func invalidShards() throws {
    let codec = try LeopardCodec(dataShards: 3, parityShards: 2)
    let good = [[UInt8]](repeating: [UInt8](repeating: 1, count: 64), count: 3)
    #expect(throws: ErasureError.invalidShardSize(63)) {
      try codec.encode([[UInt8]](repeating: [UInt8](repeating: 1, count: 63), count: 3))
    }
    #expect(throws: ErasureError.invalidShardSize(0)) { try codec.encode([[], [], []]) }
    #expect(throws: ErasureError.shardSizeMismatch(expected: 64, found: 128, shard: 2)) {
      try codec.encode([good[0], good[1], [UInt8](repeating: 0, count: 128)])
    }
    #expect(throws: ErasureError.wrongShardCount(kind: "data", expected: 3, found: 2)) {
      try codec.encode(Array(good.prefix(2)))
    }
    let parity = try codec.encode(good)
    #expect(throws: ErasureError.tooManyErasures(missingData: 3, presentParity: 2)) {
      try codec.decode(data: [nil, nil, nil], parity: parity)
    }
    #expect(throws: ErasureError.tooManyErasures(missingData: 2, presentParity: 1)) {
      try codec.decode(data: [nil, good[1], nil], parity: [nil, parity[1]])
    }
    #expect(throws: ErasureError.wrongShardCount(kind: "parity", expected: 2, found: 3)) {
      try codec.decode(data: good, parity: parity + [parity[0]])
    }
    #expect(throws: ErasureError.shardSizeMismatch(expected: 64, found: 128, shard: 3)) {
      try codec.decode(data: [nil, good[1], good[2]], parity: [parity[0], [UInt8](repeating: 0, count: 128)])
    }
    #expect(throws: ErasureError.self) { try codec.decode(data: [nil, [], []], parity: [[], []]) }
    // Nothing missing: returned as is, no parity needed.
    #expect(try codec.decode(data: good, parity: [nil, nil]) == good)
  }

  /// Random garbage parameters and shard sets: always a result or a typed error, never a trap.
  @Test func fuzzArguments() {
    var rng = SplitMix(seed: 7)
    for _ in 0..<300 {
      let k = Int.random(in: -2...12, using: &rng)
      let m = Int.random(in: -2...12, using: &rng)
      guard let codec = try? LeopardCodec(dataShards: k, parityShards: m) else { continue }
      let sizes = [0, 1, 63, 64, 65, 128]
      func shard() -> [UInt8]? {
        Int.random(in: 0..<4, using: &rng) == 0 ? nil : [UInt8](repeating: 7, count: sizes.randomElement(using: &rng)!)
      }
      let d = (0..<(k + Int.random(in: -1...1, using: &rng))).map { _ in shard() }
      let p = (0..<(m + Int.random(in: -1...1, using: &rng))).map { _ in shard() }
      _ = try? codec.decode(data: d, parity: p)
      _ = try? codec.encode(d.map { $0 ?? [] })
    }
  }
}

extension Array where Element == [UInt8] {
  func withRawBuffers<R>(_ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
    var ptrs: [UnsafeRawBufferPointer] = []
    func nest(_ i: Int) throws -> R {
      if i == count { return try body(ptrs) }
      return try self[i].withUnsafeBytes { raw in
        ptrs.append(raw)
        return try nest(i + 1)
      }
    }
    return try nest(0)
  }
}
