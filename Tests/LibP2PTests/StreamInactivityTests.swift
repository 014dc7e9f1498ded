import NIOCore
import NIOEmbedded
import Testing

@testable import LibP2P

/// Streams without data in either direction for `streamInactivityTimeout` are reset (nim: 5 minutes),
/// on a virtual clock.
@Suite("stream inactivity timeout")
struct StreamInactivityTests {
  static func config(_ timeout: TimeAmount?) -> MuxerConfiguration {
    var c = MuxerConfiguration()
    c.streamInactivityTimeout = timeout
    return c
  }

  @Test("default is nim's 5 minutes")
  func defaultValue() {
    #expect(MuxerConfiguration().streamInactivityTimeout == .minutes(5))
  }

  @Test("mplex: an idle stream is reset (remote told, reader fails); a busy one survives")
  func mplex() async throws {
    let channel = EmbeddedChannel()
    let streams = MplexTests.Streams()
    let handler = MplexHandler(
      connectionInfo: MplexTests.info(), configuration: Self.config(.seconds(1)),
      onInboundStream: { streams.list.append($0) })
    try channel.pipeline.syncOperations.addHandler(handler)
    try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
    try channel.writeInbound(MplexTests.frame(1, .newStream))
    try channel.writeInbound(MplexTests.frame(2, .newStream))
    let idle = streams.list[0]
    let busy = streams.list[1]
    // 3 s of virtual time: stream 2 gets data every 200 ms, stream 1 nothing.
    for _ in 0..<15 {
      channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
      try channel.writeInbound(MplexTests.frame(2, .messageInitiator, [7]))
    }
    var resets: [UInt64] = []
    while var out = try channel.readOutbound(as: ByteBuffer.self) {
      while let f = try MplexFrame.decode(&out) {
        if f.flag == .resetReceiver { resets.append(f.streamID) }
      }
    }
    #expect(resets == [1])
    await #expect(throws: StreamError.inactivityTimeout) { _ = try await idle.inbound.next() }
    #expect(try await busy.inbound.next()?.buffer == ByteBuffer(bytes: [7]))
    #expect(channel.isActive)
    // Without a timeout nothing is reset.
    let quiet = EmbeddedChannel()
    let qStreams = MplexTests.Streams()
    try quiet.pipeline.syncOperations.addHandler(
      MplexHandler(
        connectionInfo: MplexTests.info(), configuration: Self.config(nil),
        onInboundStream: { qStreams.list.append($0) }))
    try await quiet.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
    try quiet.writeInbound(MplexTests.frame(1, .newStream))
    quiet.embeddedEventLoop.advanceTime(by: .hours(1))
    #expect(try quiet.readOutbound(as: ByteBuffer.self) == nil)
  }

  @Test("yamux: an idle stream is reset with RST and its pending writer fails")
  func yamux() async throws {
    let channel = EmbeddedChannel()
    let streams = YamuxTests.Streams()
    let info = ConnectionInfo(
      remotePeer: PeerID(publicKey: PrivateKey.generateSecp256k1().publicKey), remoteAddress: nil,
      localAddress: nil, isInitiator: false, muxer: YamuxHeader.protocolID)
    try channel.pipeline.syncOperations.addHandler(
      YamuxHandler(
        connectionInfo: info, configuration: Self.config(.milliseconds(400)),
        onInboundStream: { streams.list.append($0) }))
    try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
    try channel.writeInbound(YamuxTests.frame(.windowUpdate, [.syn], 1, 0))
    let stream = try #require(streams.list.first)
    _ = try YamuxTests.header(channel)  // our ACK
    channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
    #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    channel.embeddedEventLoop.advanceTime(by: .seconds(1))
    let rst = try #require(try YamuxTests.header(channel))
    #expect(rst.streamID == 1 && rst.flags.contains(.rst))
    await #expect(throws: StreamError.inactivityTimeout) { _ = try await stream.inbound.next() }
  }
}
