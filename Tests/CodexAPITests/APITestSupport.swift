import CodexAPI
import CodexNode
import CodexStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// A node in a fresh temporary data directory, removed afterwards.
struct TestNode {
  let dir: String
  let node: CodexNode

  init(quota: UInt64 = 1 << 30, cors: String? = nil) throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("codex-api-\(UUID().uuidString)").path
    var config = NodeConfig(dataDir: dir)
    config.storageQuota = quota
    config.apiCorsOrigin = cors
    config.listenAddresses = ["/ip4/127.0.0.1/tcp/0"]
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    node = try CodexNode(config: config, logger: logger)
  }

  /// Runs `body` against the real HTTP server (live, on a loopback port).
  func live<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
    let app = Application(router: CodexAPI.router(node: node, corsOrigin: node.config.apiCorsOrigin))
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try await app.test(.live) { client in try await body(client) }
    await node.close()
    return result
  }
}

extension TestResponse {
  var text: String { String(buffer: body) }
  var bytes: [UInt8] { Array(buffer: body) }
}

func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
  var state = seed &+ 0x9E37_79B9_7F4A_7C15
  var out = [UInt8](repeating: 0, count: n)
  var i = 0
  while i < n {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    var v = state
    for _ in 0..<8 where i < n {
      out[i] = UInt8(truncatingIfNeeded: v >> 56)
      v <<= 8
      i += 1
    }
  }
  return out
}

struct SpaceJSON: Codable, Equatable {
  var totalBlocks: Int
  var quotaMaxBytes: UInt64
  var quotaUsedBytes: UInt64
  var quotaReservedBytes: UInt64
}

func decode<T: Decodable>(_ type: T.Type, _ r: TestResponse) throws -> T {
  try JSONDecoder().decode(T.self, from: Data(r.bytes))
}
