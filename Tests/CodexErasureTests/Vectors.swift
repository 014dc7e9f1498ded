import CodexTestSupport
import Foundation

func vectorURL(_ name: String) -> URL? { TestVectors.url(name) }

func hexBytes(_ s: String) -> [UInt8] { TestHex.decode(s) }

/// Deterministic pseudo-random generator so failures reproduce.
typealias SplitMix = SplitMix64

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

func randomShards(_ count: Int, size: Int, rng: inout SplitMix) -> [[UInt8]] {
  (0..<count).map { _ in (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) } }
}
