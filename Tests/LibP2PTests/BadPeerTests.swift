import Crypto
import Multiformats
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import LibP2P

/// Set once by a timeout task.
final class TimerFlag: Sendable {
  private let value = Mutex(false)
  func set() { value.withLock { $0 = true } }
  var isSet: Bool { value.withLock { $0 } }
}

/// A raw TCP peer for misbehaving on purpose.
struct RawPeer {
  final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<ByteBuffer>.Continuation
    init(_ c: AsyncStream<ByteBuffer>.Continuation) { continuation = c }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
    func channelInactive(context: ChannelHandlerContext) {
      continuation.finish()
      context.fireChannelInactive()
    }
  }

  let channel: any Channel
  var iterator: AsyncStream<ByteBuffer>.AsyncIterator
  var buffer = ByteBuffer()

  static func connect(to address: SocketAddress) async throws -> RawPeer {
    let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
    let channel = try await ClientBootstrap(group: HostTestSupport.group)
      .channelInitializer { ch in
        ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Collector(continuation)) }
      }
      .connect(to: address).get()
    return RawPeer(channel: channel, iterator: stream.makeAsyncIterator())
  }

  func send(_ bytes: [UInt8]) async throws { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)) }

  /// Reads `n` bytes; nil when the connection closed first.
  mutating func read(_ n: Int) async -> [UInt8]? {
    while buffer.readableBytes < n {
      guard var chunk = await iterator.next() else { return nil }
      buffer.writeBuffer(&chunk)
    }
    return buffer.readBytes(length: n)
  }

  mutating func readMultistream() async throws -> String? {
    while true {
      if let m = try MultistreamCodec.decode(&buffer) { return m }
      guard var chunk = await iterator.next() else { return nil }
      buffer.writeBuffer(&chunk)
    }
  }

  /// True when the remote closes the connection within `seconds`.
  mutating func closedByRemote(within seconds: Int = 10) async -> Bool {
    let fired = TimerFlag()
    let channel = self.channel
    let timer = Task {
      try? await Task.sleep(for: .seconds(seconds))
      guard !Task.isCancelled else { return }
      fired.set()
      try? await channel.close()
    }
    while await iterator.next() != nil {}
    timer.cancel()
    return !fired.isSet
  }

  /// Multistream `/noise` as dialer.
  mutating func selectNoise() async throws {
    var out = MultistreamCodec.encode("/multistream/1.0.0")
    MultistreamCodec.encode("/noise", into: &out)
    try await channel.writeAndFlush(out)
    #expect(try await readMultistream() == "/multistream/1.0.0")
    #expect(try await readMultistream() == "/noise")
  }
}

@Suite("misbehaving peers are disconnected without affecting others")
struct BadPeerTests {
  /// Server with a good client connected and an echo stream verified before and after the abuse.
  static func withServer(_ body: (P2PHost, SocketAddress) async throws -> Void) async throws {
    let server = try await HostTestSupport.makeHost()
    HostTestSupport.mountEcho(server)
    let good = try await HostTestSupport.makeHost()
    let address = try #require(server.listenAddresses.first)
    let conn = try await good.connect(to: address)
    func echoWorks() async throws -> Bool {
      let s = try await conn.newStream(protocols: ["/test/echo/1.0.0"])
      let data = HostTestSupport.pattern(50_000, seed: 3)
      return try await HostTestSupport.echoRoundTrip(s, data) == data
    }
    #expect(try await echoWorks())
    try await body(server, try address.tcpSocketAddress())
    #expect(try await echoWorks())
    #expect(conn.isActive)
    // Only the good client remains connected to the server.
    for _ in 0..<100 where server.connections.count != 1 { try await Task.sleep(for: .milliseconds(20)) }
    #expect(server.connections.map(\.remotePeer) == [good.peerID])
    await good.shutdown()
    await server.shutdown()
  }

  @Test("a truncated Noise handshake is dropped")
  func truncatedHandshake() async throws {
    try await Self.withServer { _, address in
      var raw = try await RawPeer.connect(to: address)
      try await raw.selectNoise()
      try await raw.send([0x00, 0x20] + [UInt8](repeating: 7, count: 10))  // half of message 1
      try await raw.channel.close()
      // A second one that sends a complete but garbage-length frame and stalls is cut by the server
      // when the handshake fails (message 1 too short for a key).
      var raw2 = try await RawPeer.connect(to: address)
      try await raw2.selectNoise()
      try await raw2.send([0x00, 0x05, 1, 2, 3, 4, 5])
      #expect(await raw2.closedByRemote())
    }
  }

  @Test("a handshake payload whose signature does not cover our static key is refused")
  func badSignature() async throws {
    try await Self.withServer { _, address in
      var raw = try await RawPeer.connect(to: address)
      try await raw.selectNoise()
      var hs = NoiseXXHandshake(role: .initiator, staticKey: .init())
      let m1 = try hs.writeMessage(payload: [])
      try await raw.send([0x00, UInt8(m1.count)] + m1)
      let header = try #require(await raw.read(2))
      let length = Int(header[0]) << 8 | Int(header[1])
      let m2 = try #require(await raw.read(length))
      _ = try hs.readMessage(m2)
      // Sign some other X25519 key than the one in the handshake.
      let other = Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation)
      let forged = try NoiseHandshakePayload(signing: other, with: .generateSecp256k1())
      let m3 = try hs.writeMessage(payload: forged.encoded)
      try await raw.send([UInt8(m3.count >> 8), UInt8(m3.count & 0xff)] + m3)
      #expect(await raw.closedByRemote())
    }
  }

  @Test("an oversized mplex frame and a yamux window violation close only that connection")
  func oversizedFrames() async throws {
    try await Self.withServer { server, _ in
      let address = try #require(server.listenAddresses.first)
      for muxer in [MplexFrame.protocolID, YamuxHeader.protocolID] {
        let bad = try await HostTestSupport.makeHost(muxers: [muxer]) { $0.identifyOnConnect = false }
        let conn = try await bad.connect(to: address)
        var frame = ByteBuffer()
        if muxer == MplexFrame.protocolID {
          MplexFrame.writeHeader(streamID: 9, flag: .messageInitiator, length: 2 << 20, into: &frame)
        } else {
          // More than the receive window the server grants.
          let length = Int(MuxerConfiguration().yamuxReceiveWindow) + (64 << 10)
          YamuxHeader(type: .data, flags: .syn, streamID: 101, length: UInt32(length)).encode(into: &frame)
          frame.writeBytes([UInt8](repeating: 0, count: length))
        }
        frame.writeBytes([UInt8](repeating: 0, count: 1000))
        // Raw bytes below the muxer (the Noise handler still encrypts them).
        try? await conn.channel.writeAndFlush(frame)
        let timedOut = TimerFlag()
        let channel = conn.channel
        let timer = Task {
          try? await Task.sleep(for: .seconds(10))
          guard !Task.isCancelled else { return }
          timedOut.set()
          try? await channel.close()
        }
        try? await conn.closeFuture.get()
        timer.cancel()
        #expect(!timedOut.isSet, "server did not close the connection (\(muxer))")
        #expect(!conn.isActive)
        await bad.shutdown()
      }
    }
  }
}
