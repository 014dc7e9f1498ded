import NIOCore
import NIOEmbedded
import Testing

@testable import LibP2P

@Suite("yamux")
struct YamuxTests {
  final class Streams: @unchecked Sendable {
    var list: [P2PStream] = []
  }

  static func setUp(initiator: Bool = false) throws -> (EmbeddedChannel, YamuxHandler, Streams) {
    let channel = EmbeddedChannel()
    let streams = Streams()
    let info = ConnectionInfo(
      remotePeer: PeerID(publicKey: PrivateKey.generateSecp256k1().publicKey), remoteAddress: nil,
      localAddress: nil, isInitiator: initiator, muxer: YamuxHeader.protocolID)
    let handler = YamuxHandler(
      connectionInfo: info, configuration: MuxerConfiguration(), onInboundStream: { streams.list.append($0) })
    try channel.pipeline.syncOperations.addHandler(handler)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return (channel, handler, streams)
  }

  static func frame(
    _ type: YamuxHeader.FrameType, _ flags: YamuxHeader.Flags, _ id: UInt32, _ length: UInt32,
    data: [UInt8] = []
  ) -> ByteBuffer {
    var b = ByteBuffer()
    YamuxFrame(
      header: YamuxHeader(type: type, flags: flags, streamID: id, length: length), data: ByteBuffer(bytes: data)
    )
    .encode(into: &b)
    return b
  }

  static func header(_ channel: EmbeddedChannel) throws -> YamuxHeader? {
    guard var out = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
    return try YamuxHeader.decode(&out)
  }

  @Test("header codec is 12 big-endian bytes; bad version and type are rejected")
  func codec() throws {
    let b = Self.frame(.windowUpdate, [.syn], 3, 0x0004_0000)
    #expect(P2PHex.encode(b) == "000100010000000300040000")
    var copy = b
    #expect(
      try YamuxHeader.decode(&copy) == YamuxHeader(type: .windowUpdate, flags: .syn, streamID: 3, length: 0x40000))
    var badVersion = ByteBuffer(bytes: [1] + [UInt8](repeating: 0, count: 11))
    #expect(throws: YamuxError.invalidVersion(1)) { _ = try YamuxHeader.decode(&badVersion) }
    var badType = ByteBuffer(bytes: [0, 9] + [UInt8](repeating: 0, count: 10))
    #expect(throws: YamuxError.invalidType(9)) { _ = try YamuxHeader.decode(&badType) }
    var short = ByteBuffer(bytes: [0, 0, 0])
    #expect(try YamuxFrame.decode(&short) == nil)
  }

  @Test("decoder fuzz: random and mutated frames never trap", arguments: [31, 32])
  func fuzz(seed: UInt64) {
    var rng = P2PRNG(seed: seed)
    let valid = Array(Self.frame(.data, [.syn], 1, 4, data: [1, 2, 3, 4]).readableBytesView)
    for i in 0..<5000 {
      var bytes = i % 2 == 0 ? rng.bytes(Int(rng.next() % 40)) : valid
      if i % 2 == 1 { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
      var buffer = ByteBuffer(bytes: bytes)
      while (try? YamuxFrame.decode(&buffer)) != nil {}
    }
  }

  @Test("accepts SYN with ACK and extra window, delivers data, answers pings, handles FIN")
  func inbound() async throws {
    let (channel, _, streams) = try Self.setUp(initiator: false)
    try channel.writeInbound(Self.frame(.windowUpdate, .syn, 1, 0))
    let ack = try #require(try Self.header(channel))
    #expect(ack.type == .windowUpdate && ack.flags == .ack && ack.streamID == 1)
    #expect(ack.length == MuxerConfiguration().yamuxReceiveWindow - YamuxHeader.initialWindow)
    try channel.writeInbound(Self.frame(.data, .fin, 1, 5, data: Array("hello".utf8)))
    let stream = try #require(streams.list.first)
    #expect(try await stream.inbound.next()?.buffer == ByteBuffer(string: "hello"))
    #expect(try await stream.inbound.next()?.buffer == nil)
    try channel.writeInbound(Self.frame(.ping, .syn, 0, 0xdead_beef))
    let pong = try #require(try Self.header(channel))
    #expect(pong.type == .ping && pong.flags == .ack && pong.length == 0xdead_beef)
    // A SYN with our parity (even ids belong to the listener) is a protocol error.
    #expect(throws: YamuxError.invalidStreamID(2)) { try channel.writeInbound(Self.frame(.windowUpdate, .syn, 2, 0)) }
    let goAway = try #require(try Self.header(channel))
    #expect(goAway.type == .goAway && goAway.length == YamuxHeader.goAwayProtocolError)
    #expect(!channel.isActive)
  }

  @Test("data beyond the granted window is a protocol error")
  func windowExceeded() throws {
    let (channel, _, _) = try Self.setUp()
    try channel.writeInbound(Self.frame(.windowUpdate, .syn, 1, 0))
    _ = try Self.header(channel)
    let window = MuxerConfiguration().yamuxReceiveWindow
    let data = [UInt8](repeating: 0, count: Int(window) + 1)
    #expect(throws: YamuxError.self) {
      try channel.writeInbound(Self.frame(.data, [], 1, UInt32(data.count), data: data))
    }
    #expect(!channel.isActive)
  }

  @Test("writes wait for send window and resume on window update; close sends FIN after queued data")
  func sendWindow() throws {
    let (channel, handler, _) = try Self.setUp(initiator: true)
    let open = channel.eventLoop.makePromise(of: P2PStream.self)
    handler.openStream(promise: open)
    let stream = try open.futureResult.wait()
    #expect(stream.id.number == 1)
    let syn = try #require(try Self.header(channel))
    #expect(syn.flags == .syn && syn.streamID == 1)
    let written = channel.eventLoop.makePromise(of: Void.self)
    let payload = ByteBuffer(bytes: [UInt8](repeating: 3, count: 300 * 1024))
    handler.streamWrite(stream.id, payload, promise: written)
    var sent = 0
    while var out = try channel.readOutbound(as: ByteBuffer.self) {
      if let h = try YamuxHeader.decode(&out), h.type == .data {
        sent += Int(h.length)
        if out.readableBytes == 0, var body = try channel.readOutbound(as: ByteBuffer.self) {
          _ = body.readSlice(length: body.readableBytes)
        }
      }
    }
    #expect(sent == Int(YamuxHeader.initialWindow))
    let closed = channel.eventLoop.makePromise(of: Void.self)
    handler.streamCloseWrite(stream.id, promise: closed)
    try channel.writeInbound(Self.frame(.windowUpdate, .ack, 1, 64 * 1024))
    var rest = 0
    var sawFin = false
    while var out = try channel.readOutbound(as: ByteBuffer.self) {
      guard let h = try YamuxHeader.decode(&out) else { continue }
      if h.type == .data { rest += Int(h.length) }
      if h.flags.contains(.fin) { sawFin = true }
    }
    #expect(rest == 300 * 1024 - Int(YamuxHeader.initialWindow))
    #expect(sawFin)
    try written.futureResult.wait()
    try closed.futureResult.wait()
    _ = try? channel.finish()
  }
}
