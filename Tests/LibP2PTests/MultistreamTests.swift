import NIOCore
import NIOEmbedded
import Testing

@testable import LibP2P

@Suite("multistream-select")
struct MultistreamTests {
  static let vectors: [(String, String)] = [
    ("/multistream/1.0.0", "132f6d756c746973747265616d2f312e302e300a"),
    ("/noise", "072f6e6f6973650a"),
    ("/mplex/6.7.0", "0d2f6d706c65782f362e372e300a"),
    ("/yamux/1.0.0", "0d2f79616d75782f312e302e300a"),
    ("/ipfs/id/1.0.0", "0f2f697066732f69642f312e302e300a"),
    ("/ipfs/ping/1.0.0", "112f697066732f70696e672f312e302e300a"),
    ("/codex/blockexc/1.0.0", "162f636f6465782f626c6f636b6578632f312e302e300a"),
    ("na", "036e610a"),
  ]

  @Test("messages encode byte-exactly (libp2p.md §5) and decode back")
  func specVectors() throws {
    for (text, hex) in Self.vectors {
      let encoded = MultistreamCodec.encode(text)
      #expect(P2PHex.encode(encoded) == hex, "\(text)")
      var buffer = encoded
      #expect(try MultistreamCodec.decode(&buffer) == text)
      #expect(buffer.readableBytes == 0)
    }
  }

  @Test("decoding needs the whole message and consumes nothing until then")
  func incremental() throws {
    let full = MultistreamCodec.encode("/codex/blockexc/1.0.0")
    var partial = ByteBuffer()
    for i in 0..<full.readableBytes {
      #expect(try MultistreamCodec.decode(&partial) == nil)
      #expect(partial.readableBytes == i)
      partial.writeInteger(full.getInteger(at: i, as: UInt8.self)!)
    }
    #expect(try MultistreamCodec.decode(&partial) == "/codex/blockexc/1.0.0")
  }

  @Test("malformed messages throw typed errors")
  func malformed() {
    var noNewline = ByteBuffer(bytes: [3, 0x6e, 0x61, 0x61])
    #expect(throws: MultistreamError.missingNewline) { try MultistreamCodec.decode(&noNewline) }
    var empty = ByteBuffer(bytes: [0])
    #expect(throws: MultistreamError.emptyMessage) { try MultistreamCodec.decode(&empty) }
    var tooLong = ByteBuffer()
    tooLong.writeUVarint(70_000)
    #expect(throws: MultistreamError.messageTooLong(70_000)) { try MultistreamCodec.decode(&tooLong) }
    var badUTF8 = ByteBuffer(bytes: [3, 0xff, 0xfe, 0x0a])
    #expect(throws: MultistreamError.invalidUTF8) { try MultistreamCodec.decode(&badUTF8) }
    var badVarint = ByteBuffer(bytes: [UInt8](repeating: 0xff, count: 11))
    #expect(throws: MultistreamError.invalidLength) { try MultistreamCodec.decode(&badVarint) }
  }

  @Test("ls lists parse in nim and go forms")
  func lsLists() {
    #expect(MultistreamCodec.parseList("/a\n/b") == ["/a", "/b"])
    var nested = ByteBuffer()
    MultistreamCodec.encode("/a", into: &nested)
    MultistreamCodec.encode("/b", into: &nested)
    let text = nested.getString(at: 0, length: nested.readableBytes)!
    #expect(MultistreamCodec.parseList(String(text.dropLast())) == ["/a", "/b"])
  }

  @Test("decoder fuzz: random and mutated bytes never trap", arguments: [1, 2, 3])
  func fuzz(seed: UInt64) {
    var rng = P2PRNG(seed: seed)
    let valid = Self.vectors.map { MultistreamCodec.encode($0.0) }
    for i in 0..<3000 {
      var bytes: [UInt8]
      if i % 2 == 0 {
        bytes = (0..<Int(rng.next() % 80)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      } else {
        bytes = Array(valid[Int(rng.next() % UInt64(valid.count))].readableBytesView)
        for _ in 0..<(1 + Int(rng.next() % 3)) {
          bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
        }
      }
      var buffer = ByteBuffer(bytes: bytes)
      while buffer.readableBytes > 0 {
        let before = buffer.readableBytes
        guard let result = try? MultistreamCodec.decode(&buffer), result != nil else { break }
        #expect(buffer.readableBytes < before)
      }
    }
  }

  @Test("dialer handler: pipelines header+proposal, moves on after na, hands over leftover bytes")
  func dialerHandler() throws {
    let channel = EmbeddedChannel()
    var selected: String?
    var failure: (any Error)?
    let handler = MultistreamNegotiationHandler(
      role: .dialer(proposals: ["/mplex/6.7.0", "/yamux/1.0.0"]),
      onSelected: { p, _ in selected = p }, onFailure: { failure = $0 })
    try channel.pipeline.syncOperations.addHandler(handler)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    var out = try #require(try channel.readOutbound(as: ByteBuffer.self))
    #expect(try MultistreamCodec.decode(&out) == "/multistream/1.0.0")
    #expect(try MultistreamCodec.decode(&out) == "/mplex/6.7.0")
    var answer = MultistreamCodec.encode("/multistream/1.0.0")
    MultistreamCodec.encode("na", into: &answer)
    try channel.writeInbound(answer)
    var next = try #require(try channel.readOutbound(as: ByteBuffer.self))
    #expect(try MultistreamCodec.decode(&next) == "/yamux/1.0.0")
    var accept = MultistreamCodec.encode("/yamux/1.0.0")
    accept.writeBytes([1, 2, 3])
    try channel.writeInbound(accept)
    #expect(selected == "/yamux/1.0.0")
    #expect(failure == nil)
    #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1, 2, 3]))
    _ = try? channel.finish()
  }

  @Test("listener handler: answers ls and na, accepts a supported protocol")
  func listenerHandler() throws {
    let channel = EmbeddedChannel()
    var selected: String?
    let handler = MultistreamNegotiationHandler(
      role: .listener(supported: ["/noise"]), onSelected: { p, _ in selected = p }, onFailure: { _ in })
    try channel.pipeline.syncOperations.addHandler(handler)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    var header = try #require(try channel.readOutbound(as: ByteBuffer.self))
    #expect(try MultistreamCodec.decode(&header) == "/multistream/1.0.0")
    var input = MultistreamCodec.encode("/multistream/1.0.0")
    MultistreamCodec.encode("ls", into: &input)
    MultistreamCodec.encode("/tls/1.0.0", into: &input)
    try channel.writeInbound(input)
    var ls = try #require(try channel.readOutbound(as: ByteBuffer.self))
    #expect(try MultistreamCodec.decode(&ls) == "/noise")
    var na = try #require(try channel.readOutbound(as: ByteBuffer.self))
    #expect(try MultistreamCodec.decode(&na) == "na")
    try channel.writeInbound(MultistreamCodec.encode("/noise"))
    var echo = try #require(try channel.readOutbound(as: ByteBuffer.self))
    #expect(try MultistreamCodec.decode(&echo) == "/noise")
    #expect(selected == "/noise")
    _ = try? channel.finish()
  }

  @Test("a wrong header fails the negotiation and closes the channel")
  func wrongHeader() throws {
    let channel = EmbeddedChannel()
    var failure: (any Error)?
    let handler = MultistreamNegotiationHandler(
      role: .listener(supported: ["/noise"]), onSelected: { _, _ in }, onFailure: { failure = $0 })
    try channel.pipeline.syncOperations.addHandler(handler)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    #expect(throws: MultistreamError.unexpectedHeader("/noise")) {
      try channel.writeInbound(MultistreamCodec.encode("/noise"))
    }
    #expect(failure as? MultistreamError == .unexpectedHeader("/noise"))
    #expect(!channel.isActive)
  }
}
