import CodexFormats
import Multiformats

/// What kind of answer a want asks for.
public enum WantType: UInt64, Sendable, Hashable {
  /// Send the block (and its proof for leaves).
  case wantBlock = 0
  /// Send a presence (Have, or DontHave if `sendDontHave`).
  case wantHave = 1
}

/// One want-list entry (`blockexc.md` §2 `Entry`).
public struct WantListEntry: Hashable, Sendable {
  public var address: BlockAddress
  /// Written as an int32 converted to uint64 (no zig-zag); always 0 in practice.
  public var priority: Int32
  /// True to withdraw an earlier want.
  public var cancel: Bool
  public var wantType: WantType
  /// Ask for an explicit DontHave presence when the block is missing.
  public var sendDontHave: Bool

  public init(
    address: BlockAddress, priority: Int32 = 0, cancel: Bool = false, wantType: WantType = .wantBlock,
    sendDontHave: Bool = false
  ) {
    self.address = address
    self.priority = priority
    self.cancel = cancel
    self.wantType = wantType
    self.sendDontHave = sendDontHave
  }

  func write(to w: inout ProtobufWriter) {
    var a = ProtobufWriter()
    address.write(to: &a)
    w.write(1, message: a)
    w.write(2, varint: UInt64(bitPattern: Int64(priority)))
    w.write(3, varint: cancel ? 1 : 0)
    w.write(4, varint: wantType.rawValue)
    w.write(5, varint: sendDontHave ? 1 : 0)
  }

  /// Decodes an entry; missing scalars take their defaults (`wantType` defaults to `wantBlock`).
  public init(encoded bytes: some Collection<UInt8>) throws(MessageError) {
    let r = try readProtobuf(bytes)
    guard let a = r.slice(1) else { throw MessageError.invalidValue(field: "Entry.address", "missing") }
    address = try BlockAddress(encoded: a)
    priority = Int32(truncatingIfNeeded: r.varint(2) ?? 0)
    cancel = (r.varint(3) ?? 0) != 0
    let t = r.varint(4) ?? 0
    guard let type = WantType(rawValue: t) else {
      throw MessageError.invalidValue(field: "Entry.wantType", "unknown want type \(t)")
    }
    wantType = type
    sendDontHave = (r.varint(5) ?? 0) != 0
  }
}

/// A want-list: entries plus the `full` flag (true: this replaces the sender's earlier wants).
public struct WantList: Hashable, Sendable {
  public var entries: [WantListEntry]
  public var full: Bool

  public init(entries: [WantListEntry] = [], full: Bool = false) {
    self.entries = entries
    self.full = full
  }

  func write(to w: inout ProtobufWriter) {
    for e in entries {
      var inner = ProtobufWriter()
      e.write(to: &inner)
      w.write(1, message: inner)
    }
    w.write(2, varint: full ? 1 : 0)
  }

  public init(encoded bytes: some Collection<UInt8>) throws(MessageError) {
    let r = try readProtobuf(bytes)
    var entries: [WantListEntry] = []
    for e in r.repeatedSlices(1) { entries.append(try WantListEntry(encoded: e)) }
    self.entries = entries
    full = (r.varint(2) ?? 0) != 0
  }
}
