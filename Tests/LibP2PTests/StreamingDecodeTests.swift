import NIOCore
import NIOEmbedded
import Testing

@testable import LibP2P

/// The throughput paths: muxers pass frame data on as it arrives (no accumulation), Noise decrypts whole
/// frames straight from the socket buffer and keeps only an incomplete trailing frame, and Noise seals
/// everything written before a flush into as few frames as possible. Inputs are cut at random points.
@Suite("streaming decode and write coalescing")
struct StreamingDecodeTests {
  /// Feeds `wire` into `channel` in pieces of 1...`maxPiece` bytes.
  static func feed(_ channel: EmbeddedChannel, _ wire: ByteBuffer, rng: inout P2PRNG, maxPiece: Int) throws {
    var rest = wire
    while rest.readableBytes > 0 {
      let n = min(rest.readableBytes, 1 + Int(rng.next() % UInt64(maxPiece)))
      try channel.writeInbound(rest.readSlice(length: n)!)
    }
  }

  static func drain(_ stream: P2PStream) async throws -> [UInt8] {
    var out: [UInt8] = []
    while let chunk = try await stream.inbound.next() { out += Array(chunk.buffer.readableBytesView) }
    return out
  }

  @Test("mplex: frames cut anywhere (headers too) deliver the same bytes and the close", arguments: [3, 700, 70_000])
  func mplexSplit(maxPiece: Int) async throws {
    var rng = P2PRNG(seed: UInt64(maxPiece))
    let (channel, _, streams) = try MplexTests.setUp()
    var wire = MplexTests.frame(5, .newStream, Array("5".utf8))
    var expected: [UInt8] = []
    for size in [1, 0, 127, 128, maxPiece < 10 ? 20_000 : 300_000, 65_536, 17] {
      let data = rng.bytes(size)
      expected += data
      var f = MplexTests.frame(5, .messageInitiator, data)
      wire.writeBuffer(&f)
      var other = MplexTests.frame(9, .messageInitiator, [1, 2, 3])  // unknown stream: skipped
      wire.writeBuffer(&other)
    }
    var close = MplexTests.frame(5, .closeInitiator)
    wire.writeBuffer(&close)
    try Self.feed(channel, wire, rng: &rng, maxPiece: maxPiece)
    let stream = try #require(streams.list.first)
    #expect(try await Self.drain(stream) == expected)
    #expect(channel.isActive)
  }

  @Test(
    "length-prefixed messages cut anywhere read the same as arrays and as buffers, then end cleanly",
    arguments: [1, 5, 3000, 200_000])
  func lengthPrefixedAcrossChunks(maxPiece: Int) async throws {
    var rng = P2PRNG(seed: 7 &+ UInt64(maxPiece))
    let (channel, _, streams) = try MplexTests.setUp()
    var wire = MplexTests.frame(3, .newStream, Array("3".utf8))
    var payload = ByteBuffer()
    let messages = [0, 1, 127, 128, 70_000, 300_000, 5].map { rng.bytes($0) }
    for m in messages {
      payload.writeUVarint(UInt64(m.count))
      payload.writeBytes(m)
    }
    // Re-cut the payload into mplex data frames of random sizes, so prefixes and bodies straddle chunks.
    while payload.readableBytes > 0 {
      let n = min(payload.readableBytes, 1 + Int(rng.next() % UInt64(maxPiece)))
      var f = MplexTests.frame(3, .messageInitiator, Array(payload.readSlice(length: n)!.readableBytesView))
      wire.writeBuffer(&f)
    }
    var close = MplexTests.frame(3, .closeInitiator)
    wire.writeBuffer(&close)
    try Self.feed(channel, wire, rng: &rng, maxPiece: 65_536)
    let stream = try #require(streams.list.first)
    var got: [[UInt8]] = []
    for i in messages.indices {
      if i % 2 == 0 {
        got.append(try #require(try await stream.readLengthPrefixedBytes(maxLength: 1 << 20)))
      } else {
        got.append(Array(try #require(try await stream.readLengthPrefixed(maxLength: 1 << 20)).readableBytesView))
      }
    }
    #expect(got == messages)
    #expect(try await stream.readLengthPrefixedBytes(maxLength: 1 << 20) == nil)
  }

  @Test("length-prefixed arrays: a message cut short by the stream's end or over the limit is an error")
  func lengthPrefixedBytesBadInput() async throws {
    for (prefix, bodyBytes, limit) in [(UInt64(100), 40, 1 << 20), (UInt64(5000), 0, 4096)] {
      let (channel, _, streams) = try MplexTests.setUp()
      var payload = ByteBuffer()
      payload.writeUVarint(prefix)
      payload.writeBytes([UInt8](repeating: 7, count: bodyBytes))
      var wire = MplexTests.frame(3, .newStream, Array("3".utf8))
      var data = MplexTests.frame(3, .messageInitiator, Array(payload.readableBytesView))
      wire.writeBuffer(&data)
      var close = MplexTests.frame(3, .closeInitiator)
      wire.writeBuffer(&close)
      try channel.writeInbound(wire)
      let stream = try #require(streams.list.first)
      do {
        _ = try await stream.readLengthPrefixedBytes(maxLength: limit)
        Issue.record("a bad message was accepted (prefix \(prefix))")
      } catch let e as StreamError {
        if prefix > UInt64(limit) {
          #expect(e == .messageTooLarge(Int(prefix), limit: limit))
        } else {
          #expect(e == .unexpectedEOF)
        }
      }
    }
  }

  @Test("mplex: an oversized header split across reads still closes the connection")
  func mplexSplitOversized() throws {
    let (channel, _, _) = try MplexTests.setUp()
    var header = ByteBuffer()
    MplexFrame.writeHeader(streamID: 1, flag: .messageInitiator, length: (1 << 20) + 1, into: &header)
    var rng = P2PRNG(seed: 1)
    do { try Self.feed(channel, header, rng: &rng, maxPiece: 1) } catch {}
    #expect(!channel.isActive)
  }

  @Test(
    "yamux: data frames cut anywhere; FIN on the last data frame ends the stream after its body",
    arguments: [5, 4096, 100_000])
  func yamuxSplit(maxPiece: Int) async throws {
    var rng = P2PRNG(seed: UInt64(maxPiece) + 7)
    let (channel, _, streams) = try YamuxTests.setUp()
    var wire = YamuxTests.frame(.windowUpdate, [.syn], 1, 0)
    var expected: [UInt8] = []
    let sizes = [1, 100, maxPiece < 10 ? 20_000 : 200_000, 12]
    for (i, size) in sizes.enumerated() {
      let data = rng.bytes(size)
      expected += data
      var f = YamuxTests.frame(.data, i == sizes.count - 1 ? [.fin] : [], 1, UInt32(size), data: data)
      wire.writeBuffer(&f)
    }
    try Self.feed(channel, wire, rng: &rng, maxPiece: maxPiece)
    let stream = try #require(streams.list.first)
    #expect(try await Self.drain(stream) == expected)
  }

  /// Two NoiseHandlers after a completed handshake.
  static func noisePair() throws -> (EmbeddedChannel, EmbeddedChannel) {
    let ki = PrivateKey.generateSecp256k1()
    let kr = PrivateKey.generateSecp256k1()
    let a = EmbeddedChannel()
    let b = EmbeddedChannel()
    try a.pipeline.syncOperations.addHandler(
      NoiseHandler(isInitiator: true, identity: ki, expectedPeer: nil, onComplete: { _, _ in }, onFailure: { _ in }))
    try b.pipeline.syncOperations.addHandler(
      NoiseHandler(isInitiator: false, identity: kr, expectedPeer: nil, onComplete: { _, _ in }, onFailure: { _ in }))
    try a.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    try b.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    try NoiseTests.pump(a, b)
    return (a, b)
  }

  @Test(
    "Noise: writes before a flush share frames; ciphertext cut anywhere decrypts to the same bytes",
    arguments: [1, 1000, 80_000, 1 << 20])
  func noiseSplitAndCoalesce(maxPiece: Int) throws {
    var rng = P2PRNG(seed: UInt64(maxPiece) + 11)
    let (a, b) = try Self.noisePair()
    var expected: [UInt8] = []
    for size in [3, 5, maxPiece < 10 ? 1500 : 150_000, 2] {
      let data = rng.bytes(size)
      expected += data
      a.write(ByteBuffer(bytes: data), promise: nil)
    }
    a.flush()
    var wire = ByteBuffer()
    while var chunk = try a.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&chunk) }
    // One frame per 65,519 plaintext bytes (the small writes share them), 18 bytes of overhead per frame.
    let frames = (expected.count + 65_518) / 65_519
    #expect(wire.readableBytes == expected.count + frames * 18)
    try Self.feed(b, wire, rng: &rng, maxPiece: maxPiece)
    var received: [UInt8] = []
    while let chunk = try b.readInbound(as: ByteBuffer.self) { received += Array(chunk.readableBytesView) }
    #expect(received == expected)
    // A tampered frame fails the connection.
    a.writeAndFlush(ByteBuffer(bytes: [1, 2, 3]), promise: nil)
    var tampered = try #require(try a.readOutbound(as: ByteBuffer.self))
    tampered.setInteger(tampered.getInteger(at: 4, as: UInt8.self)! ^ 1, at: 4)
    do { try b.writeInbound(tampered) } catch {}
    #expect(!b.isActive)
  }

  @Test("Noise: the promise of every write before a flush completes")
  func noisePromises() throws {
    let (a, _) = try Self.noisePair()
    let first = a.eventLoop.makePromise(of: Void.self)
    let second = a.eventLoop.makePromise(of: Void.self)
    a.write(ByteBuffer(bytes: [1]), promise: first)
    a.write(ByteBuffer(bytes: [2]), promise: second)
    a.flush()
    var done = 0
    first.futureResult.assumeIsolated().whenSuccess { done += 1 }
    second.futureResult.assumeIsolated().whenSuccess { done += 1 }
    a.embeddedEventLoop.run()
    #expect(done == 2)
  }
}

/// The streaming decoders never trap on garbage: random and mutated bytes in random pieces either decode or
/// close the connection.
@Suite("streaming decoders: fuzz")
struct StreamingDecodeFuzzTests {
  /// A valid frame sequence to mutate.
  static func mplexSample(_ rng: inout TestRNG) -> [UInt8] {
    var wire = MplexTests.frame(3, .newStream, Array("3".utf8))
    for size in [0, 5, 300, 2] {
      var f = MplexTests.frame(3, .messageInitiator, rng.bytes(size))
      wire.writeBuffer(&f)
    }
    var close = MplexTests.frame(3, .closeInitiator)
    wire.writeBuffer(&close)
    return Array(wire.readableBytesView)
  }

  static func yamuxSample(_ rng: inout TestRNG) -> [UInt8] {
    var wire = YamuxTests.frame(.windowUpdate, [.syn], 1, 0)
    for size in [0, 7, 400] {
      var f = YamuxTests.frame(.data, [], 1, UInt32(size), data: rng.bytes(size))
      wire.writeBuffer(&f)
    }
    var ping = YamuxTests.frame(.ping, [.syn], 0, 9)
    wire.writeBuffer(&ping)
    return Array(wire.readableBytesView)
  }

  static func feedPieces(_ channel: EmbeddedChannel, _ bytes: [UInt8], _ rng: inout TestRNG) {
    var rest = bytes[...]
    while !rest.isEmpty, channel.isActive {
      let n = min(rest.count, Int.random(in: 1...64, using: &rng))
      do { try channel.writeInbound(ByteBuffer(bytes: rest.prefix(n))) } catch {}
      rest = rest.dropFirst(n)
    }
    _ = try? channel.finish()
  }

  @Test("mplex handler: 300 random and mutated inputs", arguments: [UInt64(1), 2])
  func mplex(seed: UInt64) throws {
    var rng = TestRNG(seed: seed)
    for i in 0..<300 {
      let sample = Self.mplexSample(&rng)
      let input = i % 3 == 0 ? rng.bytes(Int.random(in: 0...200, using: &rng)) : rng.mutate(sample)
      let (channel, _, _) = try MplexTests.setUp()
      Self.feedPieces(channel, input, &rng)
    }
  }

  @Test("yamux handler: 300 random and mutated inputs", arguments: [UInt64(3), 4])
  func yamux(seed: UInt64) throws {
    var rng = TestRNG(seed: seed)
    for i in 0..<300 {
      let sample = Self.yamuxSample(&rng)
      let input = i % 3 == 0 ? rng.bytes(Int.random(in: 0...200, using: &rng)) : rng.mutate(sample)
      let (channel, _, _) = try YamuxTests.setUp()
      Self.feedPieces(channel, input, &rng)
    }
  }

  @Test("Noise handler after the handshake: mutated ciphertext in pieces fails the connection, never traps")
  func noise() throws {
    var rng = TestRNG(seed: 9)
    for _ in 0..<40 {
      let (a, b) = try StreamingDecodeTests.noisePair()
      a.writeAndFlush(ByteBuffer(bytes: rng.bytes(Int.random(in: 1...3000, using: &rng))), promise: nil)
      var wire: [UInt8] = []
      while let chunk = try a.readOutbound(as: ByteBuffer.self) { wire += Array(chunk.readableBytesView) }
      let mutated = rng.mutate(wire)
      Self.feedPieces(b, mutated, &rng)
      _ = try? a.finish()
    }
  }
}
