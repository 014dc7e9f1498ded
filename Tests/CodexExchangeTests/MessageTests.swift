import CodexFormats
import Multiformats
import NIOCore
import Testing

@testable import CodexExchange

@Suite("Block-exchange messages")
struct MessageTests {
  let treeHex = "01839a031220050b50fa8145c235e1b817326d34f733420298a9aa511f13622dd81264e8d4df"
  let blockHex = "01829a0312209d377dacf54120b0f1c6c4ba46e487575d8bc737f44c4f5c3cec48a4fb59c2e0"

  @Test("single-block dataset CIDs match blockexc.md §6")
  func datasetCids() throws {
    let ds = try TestDataset.someFileContents()
    #expect(Hex.encode(ds.treeCid.bytes) == treeHex)
    #expect(Hex.encode(ds.blocks[0].cid.bytes) == blockHex)
  }

  @Test("want-have, want-block and want-have-by-cid encode byte for byte")
  func wantExamples() throws {
    let ds = try TestDataset.someFileContents()
    let leaf = BlockAddress.leaf(treeCid: ds.treeCid, index: 0)
    let have = Message(wantList: WantList(entries: [WantListEntry(address: leaf, wantType: .wantHave)]))
    let haveHex =
      "0a3a0a360a2c0801122601839a031220050b50fa8145c235e1b817326d34f733420298a9aa511f13622dd81264e8d4df180010001800200128001000280032020a003a020a00"
    #expect(Hex.encode(have.encoded) == haveHex)
    #expect(have.encoded.count == 70)
    #expect(MessageFraming.frame(have).first == 0x46)
    let block = Message(wantList: WantList(entries: [WantListEntry(address: leaf, wantType: .wantBlock)]))
    #expect(
      Hex.encode(block.encoded)
        == "0a3a0a360a2c0801122601839a031220050b50fa8145c235e1b817326d34f733420298a9aa511f13622dd81264e8d4df180010001800200028001000280032020a003a020a00"
    )
    let byCid = Message(
      wantList: WantList(entries: [WantListEntry(address: .cid(ds.blocks[0].cid), wantType: .wantHave)]))
    #expect(
      Hex.encode(byCid.encoded)
        == "0a380a340a2a0800222601829a0312209d377dacf54120b0f1c6c4ba46e487575d8bc737f44c4f5c3cec48a4fb59c2e010001800200128001000280032020a003a020a00"
    )
    // round trips
    #expect(try Message(encoded: Hex.decode(haveHex)) == have)
    #expect(try Message(encoded: block.encoded) == block)
    #expect(try Message(encoded: byCid.encoded) == byCid)
  }

  @Test("have presence and empty message encode byte for byte")
  func presenceExample() throws {
    let ds = try TestDataset.someFileContents()
    let m = Message(blockPresences: [
      BlockPresence(address: .leaf(treeCid: ds.treeCid, index: 0), type: .have)
    ])
    let hex =
      "0a02100022520a2c0801122601839a031220050b50fa8145c235e1b817326d34f733420298a9aa511f13622dd81264e8d4df180010001a200000000000000000000000000000000000000000000000000000000000000000280032020a003a020a00"
    #expect(Hex.encode(m.encoded) == hex)
    #expect(m.encoded.count == 98)
    #expect(try Message(encoded: Hex.decode(hex)) == m)
    #expect(Hex.encode(Message().encoded) == "0a021000280032020a003a020a00")
    #expect(try Message(encoded: Hex.decode("0a021000280032020a003a020a00")) == Message())
    #expect(try Message(encoded: []) == Message())
  }

  @Test("delivery of leaf 0 has the documented layout and size")
  func deliveryExample() throws {
    let ds = try TestDataset.someFileContents()
    let proof = try ds.tree.proof(for: 0)
    let m = Message(payload: [
      BlockDelivery(block: ds.blocks[0], address: .leaf(treeCid: ds.treeCid, index: 0), proof: proof)
    ])
    let enc = m.encoded
    #expect(enc.count == 65688)
    let framed = MessageFraming.frame(m)
    #expect(Array(framed.prefix(3)) == [0x98, 0x81, 0x04])
    #expect(Array(enc.prefix(8)) == [0x0a, 0x02, 0x10, 0x00, 0x1a, 0x86, 0x81, 0x04])
    #expect(Hex.encode(Array(enc[8..<48])) == "0a26" + blockHex)
    #expect(Array(enc[48..<52]) == [0x12, 0x80, 0x80, 0x04])
    let tail = Array(enc[(52 + 65536)...])
    let expectedTail =
      "1a2c0801122601839a031220050b50fa8145c235e1b817326d34f733420298a9aa511f13622dd81264e8d4df1800"
      + "222a08121000180122220a20" + String(repeating: "00", count: 32) + "280032020a003a020a00"
    #expect(Hex.encode(tail) == expectedTail)
    let back = try Message(encoded: enc)
    #expect(back == m)
    #expect(back.payload[0].proof?.verify(leaf: ds.blocks[0].cid.multihash, root: ds.treeCid.multihash) == true)
  }

  @Test("frameBuffer (one copy of the block bytes) is byte-identical to frame for mixed messages")
  func frameBufferMatchesFrame() throws {
    let ds = try TestDataset(count: 4, blockSize: 3000, seed: 41)
    let deliveries = try (0..<3).map { i in
      BlockDelivery(
        block: ds.blocks[i], address: .leaf(treeCid: ds.treeCid, index: i), proof: try ds.tree.proof(for: i))
    }
    let messages = [
      Message(),
      Message(payload: deliveries),
      Message(payload: [BlockDelivery(block: ds.blocks[1], address: .cid(ds.blocks[1].cid))] + deliveries),
      Message(
        wantList: WantList(entries: [WantListEntry(address: .cid(ds.blocks[0].cid), wantType: .wantHave)], full: true),
        payload: [deliveries[2]],
        blockPresences: [BlockPresence(address: .leaf(treeCid: ds.treeCid, index: 7), type: .have)],
        account: AccountMessage(address: [UInt8](repeating: 7, count: 20)),
        payment: StateChannelUpdate(update: Array("{}".utf8))),
    ]
    for m in messages {
      let buffer = MessageFraming.frameBuffer(m)
      #expect(Array(buffer.readableBytesView) == MessageFraming.frame(m))
    }
  }

  @Test("body(of:) takes the one message out of a frame and rejects none, two or a cut-short one")
  func bodyOfFrame() throws {
    let ds = try TestDataset(count: 2, blockSize: 500, seed: 44)
    let m = Message(payload: [BlockDelivery(block: ds.blocks[0], address: .cid(ds.blocks[0].cid))])
    let frame = MessageFraming.frameBuffer(m)
    #expect(try MessageFraming.body(of: frame) == m.encoded)
    var two = frame
    two.writeImmutableBuffer(frame)
    var cut = frame
    cut.moveWriterIndex(to: cut.writerIndex - 1)
    for bad in [ByteBuffer(), two, cut, ByteBuffer(bytes: [0x80])] {
      #expect(throws: MessageError.self) { try MessageFraming.body(of: bad) }
    }
  }

  @Test("DeliveryMessageBuilder writes the bytes frame writes for delivery messages")
  func deliveryBuilderMatchesFrame() throws {
    let ds = try TestDataset(count: 4, blockSize: 3000, seed: 43)
    let leaves = try (0..<4).map { i in
      BlockDelivery(
        block: ds.blocks[i], address: .leaf(treeCid: ds.treeCid, index: i), proof: try ds.tree.proof(for: i))
    }
    let big = Block(data: [UInt8](repeating: 5, count: 200_000))  // multi-byte lengths everywhere
    let cases: [[BlockDelivery]] = [
      [],
      [leaves[0]],
      leaves,
      [BlockDelivery(block: ds.blocks[1], address: .cid(ds.blocks[1].cid))] + leaves,
      // A proof on a CID address is not written; a leaf without a proof has no proof field.
      [BlockDelivery(block: ds.blocks[2], address: .cid(ds.blocks[2].cid), proof: leaves[2].proof)],
      [BlockDelivery(block: ds.blocks[3], address: .leaf(treeCid: ds.treeCid, index: 3))],
      [BlockDelivery(block: Block(data: []), address: .cid(Block(data: []).cid)), leaves[1]],
      [BlockDelivery(block: big, address: .cid(big.cid)), leaves[3]],
    ]
    for deliveries in cases {
      let expected = MessageFraming.frame(Message(payload: deliveries))
      // Appended as deliveries, and (the serving path) as lent bytes with the proof's encoding.
      var a = DeliveryMessageBuilder()
      var b = DeliveryMessageBuilder(capacity: 100)
      for d in deliveries {
        a.append(d)
        d.block.data.withUnsafeBytes {
          b.append(cid: d.block.cid, data: $0, address: d.address, proof: d.proof?.encoded)
        }
      }
      #expect(a.count == deliveries.count && b.count == deliveries.count)
      #expect(b.dataBytes == deliveries.reduce(0) { $0 + $1.block.data.count })
      #expect(Array(a.finish().readableBytesView) == expected)
      #expect(Array(b.finish().readableBytesView) == expected)
    }
  }

  @Test("a delivery whose bytes do not hash to its CID fails the whole message")
  func hashMismatch() throws {
    let ds = try TestDataset.someFileContents()
    var data = ds.blocks[0].data
    data[0] ^= 1
    let bad = Block(unchecked: ds.blocks[0].cid, data: data)
    let m = Message(payload: [BlockDelivery(block: bad, address: .cid(bad.cid))])
    #expect(throws: MessageError.hashMismatch(bad.cid)) { try Message(encoded: m.encoded) }
  }

  @Test("decoder accepts omitted defaults and skips unknown fields")
  func tolerantDecoding() throws {
    let ds = try TestDataset.someFileContents()
    // Entry with only an address (leaf flag omitted → cid address), unknown field 9 in the message.
    var addr = ProtobufWriter()
    addr.write(4, bytes: ds.blocks[0].cid.bytes)
    var entry = ProtobufWriter()
    entry.write(1, message: addr)
    var wl = ProtobufWriter()
    wl.write(1, message: entry)
    var msg = ProtobufWriter()
    msg.write(1, message: wl)
    msg.write(9, varint: 77)
    let m = try Message(encoded: msg.bytes)
    #expect(m.wantList.entries == [WantListEntry(address: .cid(ds.blocks[0].cid), wantType: .wantBlock)])
    #expect(m.wantList.full == false)
    #expect(m.account.isValid == false)
  }

  @Test("negative priority is a 10-byte varint, no zig-zag")
  func negativePriority() throws {
    let e = WantListEntry(address: .cid(Block(data: [1]).cid), priority: -1)
    let m = Message(wantList: WantList(entries: [e]))
    #expect(try Message(encoded: m.encoded).wantList.entries[0].priority == -1)
    #expect(Hex.encode(m.encoded).contains("10ffffffffffffffffff01"))
  }

  @Test("typed errors for bad CIDs and unknown enum values")
  func typedErrors() throws {
    var addr = ProtobufWriter()
    addr.write(1, varint: 1)
    addr.write(2, bytes: [1, 2, 3])
    #expect(throws: MessageError.self) { try BlockAddress(encoded: addr.bytes) }
    var entry = ProtobufWriter()
    entry.write(1, bytes: BlockAddress.cid(Block(data: [1]).cid).encoded)
    entry.write(4, varint: 7)
    #expect(throws: MessageError.invalidValue(field: "Entry.wantType", "unknown want type 7")) {
      try WantListEntry(encoded: entry.bytes)
    }
  }

  @Test("frame decoder splits concatenated frames fed byte by byte and enforces the size limit")
  func framing() throws {
    let ds = try TestDataset.someFileContents()
    let a = Message(wantList: WantList(entries: [WantListEntry(address: .cid(ds.blocks[0].cid))], full: true))
    let b = Message(blockPresences: [BlockPresence(address: .leaf(treeCid: ds.treeCid, index: 0), type: .dontHave)])
    let stream = MessageFraming.frame(a) + MessageFraming.frame(b) + MessageFraming.frame(Message())
    var d = FrameDecoder()
    var got: [Message] = []
    for byte in stream {
      d.feed([byte])
      while let m = try d.nextMessage() { got.append(m) }
    }
    #expect(got == [a, b, Message()])
    var small = FrameDecoder(maxMessageSize: 10)
    small.feed(MessageFraming.frame(a))
    #expect(throws: MessageError.self) { try small.nextFrame() }
    var bad = FrameDecoder()
    bad.feed([UInt8](repeating: 0xff, count: 11))
    #expect(throws: MessageError.self) { try bad.nextFrame() }
  }

  @Test("fuzz: random and mutated bytes never trap")
  func fuzz() throws {
    let ds = try TestDataset.someFileContents()
    var rng = TestRNG(seed: 42)
    let small = try TestDataset(count: 3, blockSize: 64, seed: 3)
    let seeds: [[UInt8]] = [
      Message(wantList: WantList(entries: [WantListEntry(address: .leaf(treeCid: ds.treeCid, index: 5))])).encoded,
      Message(blockPresences: [BlockPresence(address: .cid(ds.blocks[0].cid), type: .have)]).encoded,
      Message(payload: [
        BlockDelivery(
          block: small.blocks[1], address: .leaf(treeCid: small.treeCid, index: 1), proof: try small.tree.proof(for: 1))
      ]).encoded,
      Message().encoded,
    ]
    var decoded = 0
    for i in 0..<6000 {
      var bytes: [UInt8]
      if i % 3 == 0 {
        bytes = rng.bytes(Int(rng.next() % 200))
      } else {
        bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
        let flips = 1 + Int(rng.next() % 4)
        for _ in 0..<flips where !bytes.isEmpty {
          let pos = Int(rng.next() % UInt64(bytes.count))
          switch rng.next() % 3 {
          case 0: bytes[pos] = UInt8(truncatingIfNeeded: rng.next())
          case 1: bytes.remove(at: pos)
          default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
          }
        }
      }
      if let m = try? Message(encoded: bytes) {
        decoded += 1
        _ = m.encoded
      }
      var d = FrameDecoder(maxMessageSize: 1 << 16)
      d.feed(bytes)
      for _ in 0..<4 { _ = try? d.nextMessage() }
    }
    #expect(decoded > 0)
  }
}
