import NIOCore

/// Why a ping failed.
public enum PingError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The echoed bytes differ from what was sent.
  case mismatch

  public var description: String { "ping answer does not match the 32 bytes sent" }
}

/// The ping protocol (`/ipfs/ping/1.0.0`): the dialer sends 32 random bytes, the listener echoes them.
public enum Ping {
  public static let protocolID = "/ipfs/ping/1.0.0"
  public static let payloadLength = 32

  /// Listener: echoes 32-byte blocks until the remote closes.
  public static func serve(_ stream: P2PStream) async throws {
    while true {
      let block: ByteBuffer
      do {
        block = try await stream.readExactly(payloadLength)
      } catch StreamError.unexpectedEOF {
        break
      }
      try await stream.write(block)
    }
    try await stream.closeWrite()
  }

  /// Dialer: one round trip on an open ping stream; returns the round-trip time.
  public static func roundTrip(on stream: P2PStream) async throws -> Duration {
    var generator = SystemRandomNumberGenerator()
    let payload = (0..<payloadLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let clock = ContinuousClock()
    let start = clock.now
    try await stream.write(payload)
    let answer = try await stream.readExactly(payloadLength)
    guard Array(answer.readableBytesView) == payload else { throw PingError.mismatch }
    return clock.now - start
  }
}
