import CodexFormats
import CodexStore
import Multiformats

/// The account message (`6: AccountMessage { 1: bytes address }`): a 20-byte Ethereum address, empty when unused.
public struct AccountMessage: Hashable, Sendable {
  public var address: [UInt8]
  public init(address: [UInt8] = []) { self.address = address }
  /// True when the address is usable (exactly 20 bytes); other values are ignored, as nim-codex does.
  public var isValid: Bool { address.count == 20 }
}

/// The payment message (`7: StateChannelUpdate { 1: bytes update }`): a nitro SignedState as JSON, empty when unused.
public struct StateChannelUpdate: Hashable, Sendable {
  public var update: [UInt8]
  public init(update: [UInt8] = []) { self.update = update }
}

/// One block-exchange message (`blockexc.md` §2). Encoding follows the minprotobuf rules: fields 1, 3, 4, 5, 6, 7
/// in that order, the want-list, pendingBytes, account and payment always written, so the bytes match nim-codex.
public struct Message: Hashable, Sendable {
  public var wantList: WantList
  public var payload: [BlockDelivery]
  public var blockPresences: [BlockPresence]
  /// Always 0 in Codex.
  public var pendingBytes: UInt64
  public var account: AccountMessage
  public var payment: StateChannelUpdate

  /// Largest encoded message accepted or sent (`MaxMessageSize`, 100 MiB).
  public static let maxSize = 100 * 1024 * 1024

  public init(
    wantList: WantList = WantList(), payload: [BlockDelivery] = [], blockPresences: [BlockPresence] = [],
    pendingBytes: UInt64 = 0, account: AccountMessage = AccountMessage(),
    payment: StateChannelUpdate = StateChannelUpdate()
  ) {
    self.wantList = wantList
    self.payload = payload
    self.blockPresences = blockPresences
    self.pendingBytes = pendingBytes
    self.account = account
    self.payment = payment
  }

  /// True when the message carries no wants, blocks or presences.
  public var isEmpty: Bool { wantList.entries.isEmpty && payload.isEmpty && blockPresences.isEmpty }

  /// The protobuf bytes, byte-identical to nim-codex's encoder.
  public var encoded: [UInt8] {
    var w = ProtobufWriter()
    writeHead(to: &w)
    for d in payload {
      var inner = ProtobufWriter()
      d.write(to: &inner)
      w.write(3, message: inner)
    }
    writeTail(to: &w)
    return w.bytes
  }

  /// The fields before the deliveries: the want-list (field 1).
  func writeHead(to w: inout ProtobufWriter) {
    var wl = ProtobufWriter()
    wantList.write(to: &wl)
    w.write(1, message: wl)
  }

  /// The fields after the deliveries: presences, pendingBytes, account and payment (fields 4-7).
  func writeTail(to w: inout ProtobufWriter) {
    for p in blockPresences {
      var inner = ProtobufWriter()
      p.write(to: &inner)
      w.write(4, message: inner)
    }
    w.write(5, varint: pendingBytes)
    var acc = ProtobufWriter()
    acc.write(1, bytes: account.address)
    w.write(6, message: acc)
    var pay = ProtobufWriter()
    pay.write(1, bytes: payment.update)
    w.write(7, message: pay)
  }

  /// Decodes a message. Absent fields are defaults, unknown fields are skipped. Any bad part (a CID that does not
  /// parse, a delivery whose bytes do not hash to its CID) fails the whole message, as in nim-codex.
  public init(encoded bytes: some Collection<UInt8>) throws(MessageError) {
    guard bytes.count <= Message.maxSize else { throw MessageError.tooLarge(bytes.count, limit: Message.maxSize) }
    let r = try readProtobuf(bytes)
    wantList = try r.slice(1).map { b throws(MessageError) in try WantList(encoded: b) } ?? WantList()
    var payload: [BlockDelivery] = []
    for d in r.repeatedSlices(3) { payload.append(try BlockDelivery(unhashed: d)) }
    // Every delivery's bytes must hash to its CID; equal-length blocks are hashed several at a time (`BlockDigests`).
    let digests = BlockDigests.sha256(payload.map(\.block.data))
    for (d, digest) in zip(payload, digests) where digest != d.block.cid.multihash.digest {
      throw MessageError.hashMismatch(d.block.cid)
    }
    self.payload = payload
    var presences: [BlockPresence] = []
    for p in r.repeatedSlices(4) { presences.append(try BlockPresence(encoded: p)) }
    blockPresences = presences
    pendingBytes = r.varint(5) ?? 0
    if let a = r.bytes(6) {
      account = AccountMessage(address: try readProtobuf(a).bytes(1) ?? [])
    } else {
      account = AccountMessage()
    }
    if let p = r.bytes(7) {
      payment = StateChannelUpdate(update: try readProtobuf(p).bytes(1) ?? [])
    } else {
      payment = StateChannelUpdate()
    }
  }
}
