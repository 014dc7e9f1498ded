import NIOCore
import NIOEmbedded
import Testing

@testable import LibP2P

@Suite("mplex")
struct MplexTests {
  static func info(initiator: Bool = false) -> ConnectionInfo {
    ConnectionInfo(
      remotePeer: PeerID(publicKey: PrivateKey.generateSecp256k1().publicKey), remoteAddress: nil,
      localAddress: nil, isInitiator: initiator, muxer: MplexFrame.protocolID)
  }

  final class Streams: @unchecked Sendable {
    var list: [P2PStream] = []
  }

  /// A connected channel with an mplex handler; with `reads`, that counter sits in front of it and sees every
  /// `read` the handler lets through to the socket.
  static func setUp(maxInbound: Int = 200, maxBufferedPerStream: Int? = nil, reads: ReadCounter? = nil) throws -> (
    EmbeddedChannel, MplexHandler, Streams
  ) {
    let channel = EmbeddedChannel()
    let streams = Streams()
    var config = MuxerConfiguration()
    config.maxInboundStreams = maxInbound
    if let maxBufferedPerStream { config.maxBufferedPerStream = maxBufferedPerStream }
    let handler = MplexHandler(
      connectionInfo: info(), configuration: config, onInboundStream: { streams.list.append($0) })
    if let reads { try channel.pipeline.syncOperations.addHandler(reads) }
    try channel.pipeline.syncOperations.addHandler(handler)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return (channel, handler, streams)
  }

  static func frame(_ id: UInt64, _ flag: MplexFrame.Flag, _ data: [UInt8] = []) -> ByteBuffer {
    var b = ByteBuffer()
    MplexFrame(streamID: id, flag: flag, data: ByteBuffer(bytes: data)).encode(into: &b)
    return b
  }

  @Test("frame codec: nim's NewStream for stream 1 is 08 00; headers, flags and lengths round-trip")
  func codec() throws {
    #expect(P2PHex.encode(Self.frame(1, .newStream)) == "0800")
    #expect(P2PHex.encode(Self.frame(1, .messageInitiator, [0xaa])) == "0a01aa")
    #expect(P2PHex.encode(Self.frame(1, .messageReceiver, [0xaa])) == "0901aa")
    #expect(P2PHex.encode(Self.frame(300, .resetInitiator)) == "e61200")
    var two = Self.frame(7, .closeReceiver)
    var second = Self.frame(1000, .messageInitiator, [1, 2, 3])
    two.writeBuffer(&second)
    let f1 = try #require(try MplexFrame.decode(&two))
    #expect(f1.streamID == 7 && f1.flag == .closeReceiver && f1.data.readableBytes == 0)
    let f2 = try #require(try MplexFrame.decode(&two))
    #expect(f2.streamID == 1000 && f2.flag == .messageInitiator && f2.data == ByteBuffer(bytes: [1, 2, 3]))
    var partial = ByteBuffer(bytes: [0x0a, 0x05, 1, 2])
    #expect(try MplexFrame.decode(&partial) == nil)
    #expect(partial.readableBytes == 4)
  }

  @Test("oversized frames (> 1 MiB) and unknown flags are rejected")
  func limits() {
    var big = ByteBuffer()
    MplexFrame.writeHeader(streamID: 1, flag: .messageInitiator, length: (1 << 20) + 1, into: &big)
    #expect(throws: MplexError.frameTooLarge(UInt64(1 << 20) + 1)) { _ = try MplexFrame.decode(&big) }
    var bad = ByteBuffer(bytes: [0x0f, 0x00])
    #expect(throws: MplexError.invalidFlag(7)) { _ = try MplexFrame.decode(&bad) }
  }

  @Test("decoder fuzz: random and mutated frames never trap", arguments: [21, 22])
  func fuzz(seed: UInt64) {
    var rng = P2PRNG(seed: seed)
    let valid = Array(Self.frame(5, .messageInitiator, [1, 2, 3, 4, 5, 6]).readableBytesView)
    for i in 0..<5000 {
      var bytes = i % 2 == 0 ? rng.bytes(Int(rng.next() % 40)) : valid
      if i % 2 == 1 { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
      var buffer = ByteBuffer(bytes: bytes)
      while (try? MplexFrame.decode(&buffer)) != nil {}
    }
  }

  @Test("handler: remote stream open, data, our replies use receiver flags, half-close, reset")
  func handlerStreams() async throws {
    let (channel, handler, streams) = try Self.setUp()
    try channel.writeInbound(Self.frame(1, .newStream))
    try channel.writeInbound(Self.frame(1, .messageInitiator, Array("abc".utf8)))
    let stream = try #require(streams.list.first)
    #expect(stream.id == MuxedStreamID(number: 1, openedLocally: false))
    let promise = channel.eventLoop.makePromise(of: Void.self)
    handler.streamWrite(stream.id, ByteBuffer(string: "xyz"), promise: promise)
    #expect(P2PHex.encode(try #require(try channel.readOutbound(as: ByteBuffer.self))) == "090378797a")
    try channel.writeInbound(Self.frame(1, .closeInitiator))
    #expect(try await stream.inbound.next()?.buffer == ByteBuffer(string: "abc"))
    #expect(try await stream.inbound.next()?.buffer == nil)
    // Frames for unknown streams are skipped.
    try channel.writeInbound(Self.frame(99, .messageInitiator, [1]))
    // Remote reset of another stream.
    try channel.writeInbound(Self.frame(2, .newStream))
    let second = streams.list[1]
    try channel.writeInbound(Self.frame(2, .resetInitiator))
    await #expect(throws: StreamError.reset) { _ = try await second.inbound.next() }
    // Our own stream: NewStream with the id as name, data with initiator flags.
    let open = channel.eventLoop.makePromise(of: P2PStream.self)
    handler.openStream(promise: open)
    let mine = try await open.futureResult.get()
    #expect(P2PHex.encode(try #require(try channel.readOutbound(as: ByteBuffer.self))) == "080131")
    handler.streamWrite(mine.id, ByteBuffer(bytes: [0xee]), promise: channel.eventLoop.makePromise())
    #expect(P2PHex.encode(try #require(try channel.readOutbound(as: ByteBuffer.self))) == "0a01ee")
    try channel.writeInbound(Self.frame(1, .messageReceiver, [5]))  // MsgIn refers to *our* stream 1
    #expect(try await mine.inbound.next()?.buffer == ByteBuffer(bytes: [5]))
    #expect(channel.isActive)
    _ = try? channel.finish()
  }

  @Test("the 201st concurrent remote stream is reset; an oversized frame closes the connection")
  func abuse() async throws {
    let (channel, handler, streams) = try Self.setUp(maxInbound: 200)
    for id in 1...200 { try channel.writeInbound(Self.frame(UInt64(id), .newStream)) }
    #expect(streams.list.count == 200)
    try channel.writeInbound(Self.frame(201, .newStream))
    #expect(streams.list.count == 200)
    #expect(P2PHex.encode(try #require(try channel.readOutbound(as: ByteBuffer.self))) == "cd0c00")  // varint(201 << 3 | 5), length 0
    #expect(handler.openStreamCount == 200)
    var big = ByteBuffer()
    MplexFrame.writeHeader(streamID: 1, flag: .messageInitiator, length: 2 << 20, into: &big)
    #expect(throws: MplexError.self) { try channel.writeInbound(big) }
    #expect(!channel.isActive)
    await #expect(throws: StreamError.connectionClosed) { _ = try await streams.list[0].inbound.next() }
  }

  @Test("back-pressure: a stream with too much unread data stops socket reads until it is drained")
  func backPressure() throws {
    let reads = ReadCounter()
    let (channel, handler, streams) = try Self.setUp(maxBufferedPerStream: 1000, reads: reads)
    try channel.writeInbound(Self.frame(1, .newStream))
    channel.read()
    let before = reads.count
    try channel.writeInbound(Self.frame(1, .messageInitiator, [UInt8](repeating: 1, count: 1500)))
    channel.read()
    #expect(reads.count == before)  // held back
    let stream = try #require(streams.list.first)
    handler.streamConsumed(stream.id, bytes: 0)
    #expect(reads.count == before)  // still 1500 buffered
    stream.inbound.fail(.closed)
    handler.streamConsumed(stream.id, bytes: 1500)
    #expect(reads.count == before + 1)  // released
    _ = try? channel.finish()
  }
}

extension MplexTests {
  @Test("back-pressure: data that arrives between the consumer's drain report and its handling does not stall reads")
  func backPressureResumeRace() async throws {
    let reads = ReadCounter()
    let (channel, handler, streams) = try Self.setUp(maxBufferedPerStream: 1000, reads: reads)
    try channel.writeInbound(Self.frame(1, .newStream))
    let before = reads.count
    // Over the limit: reads stop.
    try channel.writeInbound(Self.frame(1, .messageInitiator, [UInt8](repeating: 1, count: 1500)))
    channel.read()
    #expect(reads.count == before)
    let stream = try #require(streams.list.first)
    // The consumer drains it and gets a report to send to the muxer...
    let first = try #require(try await stream.inbound.next())
    #expect(first.buffer.readableBytes == 1500 && first.report == 1500)
    #expect(!stream.inbound.isPaused)
    // ...but before the muxer handles it, more data (under the limit) arrives.
    try channel.writeInbound(Self.frame(1, .messageInitiator, [UInt8](repeating: 2, count: 700)))
    handler.streamConsumed(stream.id, bytes: first.report)
    // Resumed (the held-back read went out): no further report would ever come for these 700 bytes.
    #expect(reads.count == before + 1)
    let second = try #require(try await stream.inbound.next())
    #expect(second.buffer.readableBytes == 700 && second.report == 0)
    _ = try? channel.finish()
  }
}

/// Counts `read` calls that reach the head of the pipeline.
final class ReadCounter: ChannelOutboundHandler {
  typealias OutboundIn = ByteBuffer
  var count = 0
  func read(context: ChannelHandlerContext) {
    count += 1
    context.read()
  }
}

extension MplexTests {
  @Test("after the connection is gone, stream and connection calls finish at once instead of waiting on its loop")
  func callsAfterClose() async throws {
    let (channel, handler, _) = try Self.setUp()
    let open = channel.eventLoop.makePromise(of: P2PStream.self)
    handler.openStream(promise: open)
    let stream = try await open.futureResult.get()
    let connection = P2PConnection(
      info: Self.info(), channel: channel, muxer: MuxerRef(core: handler, eventLoop: channel.eventLoop))
    _ = try? channel.finish()  // channel inactive: the muxer shuts down
    #expect(handler.liveness.isClosed)
    await #expect(throws: StreamError.connectionClosed) { try await stream.write(ByteBuffer(bytes: [1, 2, 3])) }
    try await stream.closeWrite()  // nothing left to close
    await #expect(throws: StreamError.connectionClosed) { _ = try await connection.openRawStream() }
    #expect(await connection.streamCount() == 0)
    await connection.close()
  }
}
