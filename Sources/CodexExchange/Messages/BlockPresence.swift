import CodexFormats
import Multiformats

/// Whether a peer has a block.
public enum BlockPresenceType: UInt64, Sendable, Hashable {
  case have = 0
  case dontHave = 1
}

/// An answer to a want-have (`blockexc.md` §2 `BlockPresence`).
public struct BlockPresence: Hashable, Sendable {
  public var address: BlockAddress
  public var type: BlockPresenceType
  /// UInt256 big-endian; Codex sends 32 zero bytes.
  public var price: [UInt8]

  /// The price Codex sends: 32 zero bytes.
  public static let zeroPrice = [UInt8](repeating: 0, count: 32)

  public init(address: BlockAddress, type: BlockPresenceType, price: [UInt8] = BlockPresence.zeroPrice) {
    self.address = address
    self.type = type
    self.price = price
  }

  func write(to w: inout ProtobufWriter) {
    var a = ProtobufWriter()
    address.write(to: &a)
    w.write(1, message: a)
    w.write(2, varint: type.rawValue)
    w.write(3, bytes: price)
  }

  public init(encoded bytes: some Collection<UInt8>) throws(MessageError) {
    let r = try readProtobuf(bytes)
    guard let a = r.slice(1) else { throw MessageError.invalidValue(field: "BlockPresence.address", "missing") }
    address = try BlockAddress(encoded: a)
    let t = r.varint(2) ?? 0
    guard let type = BlockPresenceType(rawValue: t) else {
      throw MessageError.invalidValue(field: "BlockPresence.type", "unknown presence type \(t)")
    }
    self.type = type
    let p = r.bytes(3) ?? []
    guard p.count <= 32 else { throw MessageError.invalidValue(field: "BlockPresence.price", "longer than 32 bytes") }
    price = p
  }
}
