import Testing

import CodexTestSupport
import Multiformats

@Suite("MinProtobuf")
struct MinProtobufTests {
  @Test func writerFollowsMinprotobufRules() {
    var writer = MinProtobuf.Writer()
    writer.writeVarint(field: 2, 0)  // zero is still written
    writer.writeBytes(field: 1, [UInt8]())  // empty bytes are still written
    writer.writeString(field: 3, "hi")
    writer.writeVarint(field: 4, UInt64.max)
    writer.writeVarint(field: 16, 300)
    #expect(
      writer.bytes == [0x10, 0x00, 0x0a, 0x00, 0x1a, 0x02, 0x68, 0x69, 0x20]
        + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] + [0x80, 0x01, 0xac, 0x02])
  }

  @Test func readerRoundTripAndWireTypes() throws {
    var writer = MinProtobuf.Writer()
    writer.writeVarint(field: 1, 150)
    writer.writeBytes(field: 2, [1, 2, 3])
    var bytes = writer.bytes
    bytes += [0x19] + [UInt8](repeating: 0xab, count: 8)  // field 3, fixed64
    bytes += [0x25, 1, 0, 0, 0]  // field 4, fixed32
    var reader = MinProtobuf.Reader(bytes)
    var fields: [MinProtobuf.Field] = []
    while let field = try reader.next() { fields.append(field) }
    #expect(fields.count == 4)
    #expect(fields[0].varint == 150)
    #expect(fields[1].bytes == [1, 2, 3])
    #expect(fields[2].value == .fixed64(0xabab_abab_abab_abab))
    #expect(fields[3].value == .fixed32(1))
    #expect(fields[0].bytes == nil && fields[1].varint == nil)
  }

  @Test(
    arguments: [
      [0x08], [0x0a, 0x05, 0x00], [0x0b], [0x0c], [0x0e], [0x0f], [0x00, 0x00], [0x19, 0x00], [0x1d, 0x00, 0x00],
      [0x08] + [UInt8](repeating: 0xff, count: 9) + [0x02], [0x08] + [UInt8](repeating: 0x80, count: 11),
      [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
    ] as [[UInt8]])
  func malformedInputThrows(bytes: [UInt8]) {
    var reader = MinProtobuf.Reader(bytes)
    #expect(throws: MinProtobuf.DecodeError.self) {
      while try reader.next() != nil {}
    }
  }

  @Test func fuzzReader() {
    var rng = SplitMix64(seed: 0x9B)
    for _ in 0..<5000 {
      var reader = MinProtobuf.Reader(rng.bytes(Int.random(in: 0..<64, using: &rng)))
      var count = 0
      while let field = try? reader.next() {
        count += 1
        #expect(field.number > 0)
        if count > 64 { break }
      }
      #expect(count <= 64)
    }
  }
}
