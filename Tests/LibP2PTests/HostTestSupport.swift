import Logging
import Multiformats
import NIOCore
import NIOPosix

@testable import LibP2P

/// Helpers for Swift↔Swift host tests on 127.0.0.1.
enum HostTestSupport {
  static let group = MultiThreadedEventLoopGroup.singleton

  static func makeHost(
    muxers: [String] = [MplexFrame.protocolID, YamuxHeader.protocolID],
    configure: (inout HostConfiguration) -> Void = { _ in }
  ) async throws -> P2PHost {
    var config = HostConfiguration(
      identity: .generateSecp256k1(), listenAddresses: [try Multiaddr(string: "/ip4/127.0.0.1/tcp/0")])
    config.muxers = muxers
    configure(&config)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let host = P2PHost(configuration: config, group: group, logger: logger)
    try await host.start()
    return host
  }

  /// Mounts `/test/echo/1.0.0`: echoes everything, then half-closes.
  static func mountEcho(_ host: P2PHost) {
    host.registry.register("/test/echo/1.0.0") { stream in
      while let chunk = try await stream.read() { try await stream.write(chunk) }
      try await stream.closeWrite()
    }
  }

  /// Deterministic pseudo-random bytes.
  static func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    var x = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
      x ^= x << 13
      x ^= x >> 7
      x ^= x << 17
      out[i] = UInt8(truncatingIfNeeded: x)
    }
    return out
  }

  /// Writes `data` in chunks and concurrently reads everything back.
  static func echoRoundTrip(_ stream: P2PStream, _ data: [UInt8], chunk: Int = 100_000) async throws -> [UInt8] {
    try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
      group.addTask {
        var i = 0
        while i < data.count {
          let end = min(i + chunk, data.count)
          try await stream.write(ByteBuffer(bytes: data[i..<end]))
          i = end
        }
        try await stream.closeWrite()
        return nil
      }
      group.addTask {
        var received: [UInt8] = []
        received.reserveCapacity(data.count)
        while let c = try await stream.read() { received += c.readableBytesView }
        return received
      }
      var result: [UInt8] = []
      for try await r in group { if let r { result = r } }
      return result
    }
  }
}
