import Foundation

/// Locates `shared/vectors/<name>` by walking up from this file.
func vectorURL(_ name: String, file: String = #filePath) -> URL? {
  var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
  for _ in 0..<8 {
    let candidate = dir.appendingPathComponent("shared/vectors/\(name)")
    if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
    dir = dir.deletingLastPathComponent()
  }
  return nil
}

struct LeopardVector: Decodable {
  let k: Int
  let m: Int
  let shard_bytes: Int
  let leopard_field: String
  let original: [String]
  let parity: [String]
}

struct LeopardVectorFile: Decodable {
  let vectors: [LeopardVector]
}

func loadLeopardVectors() throws -> [LeopardVector] {
  guard let url = vectorURL("leopard.json") else { throw CocoaError(.fileNoSuchFile) }
  return try JSONDecoder().decode(LeopardVectorFile.self, from: Data(contentsOf: url)).vectors
}

func hexBytes(_ s: String) -> [UInt8] {
  var out: [UInt8] = []
  out.reserveCapacity(s.utf8.count / 2)
  var hi: UInt8 = 0
  for (i, c) in s.utf8.enumerated() {
    let v: UInt8 = c >= 97 ? c - 87 : (c >= 65 ? c - 55 : c - 48)
    if i % 2 == 0 { hi = v } else { out.append(hi << 4 | v) }
  }
  return out
}

/// Deterministic pseudo-random generator (SplitMix64) so failures reproduce.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

func randomShards(_ count: Int, size: Int, rng: inout SplitMix) -> [[UInt8]] {
  (0..<count).map { _ in (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) } }
}
