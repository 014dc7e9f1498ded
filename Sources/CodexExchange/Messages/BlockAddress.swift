import CodexFormats
import Multiformats

/// What a want or a presence refers to: a leaf `(treeCid, index)` of a dataset tree, or a stand-alone block by CID
/// (`blockexc.md` §3).
///
/// Wire form: `1: leaf (always) · 2: treeCid, 3: index (only if leaf) · 4: cid (only if not leaf)`.
public enum BlockAddress: Hashable, Sendable, CustomStringConvertible {
  case leaf(treeCid: Cid, index: Int)
  case cid(Cid)

  /// True for leaf addresses.
  public var isLeaf: Bool {
    if case .leaf = self { return true }
    return false
  }

  /// The CID to look for providers of: the tree CID for leaves, the block CID otherwise.
  public var discoveryCid: Cid {
    switch self {
    case .leaf(let tree, _): return tree
    case .cid(let cid): return cid
    }
  }

  public var description: String {
    switch self {
    case .leaf(let tree, let index): return "\(tree)[\(index)]"
    case .cid(let cid): return cid.description
    }
  }

  /// Appends the encoded address to `w`.
  func write(to w: inout ProtobufWriter) {
    switch self {
    case .leaf(let tree, let index):
      w.write(1, varint: 1)
      w.write(2, bytes: tree.bytes)
      w.write(3, varint: UInt64(index))
    case .cid(let cid):
      w.write(1, varint: 0)
      w.write(4, bytes: cid.bytes)
    }
  }

  /// The encoded address.
  public var encoded: [UInt8] {
    var w = ProtobufWriter()
    write(to: &w)
    return w.bytes
  }

  /// Decodes an address. `leaf` absent means false; the CID of the chosen kind must be present and parse.
  public init(encoded bytes: some Collection<UInt8>) throws(MessageError) {
    let r = try readProtobuf(bytes)
    let leaf = (r.varint(1) ?? 0) != 0
    if leaf {
      let tree = try parseCid(r.bytes(2) ?? [], field: "BlockAddress.treeCid")
      let index = r.varint(3) ?? 0
      guard index <= UInt64(Int.max) else {
        throw MessageError.invalidValue(field: "BlockAddress.index", "\(index) is out of range")
      }
      self = .leaf(treeCid: tree, index: Int(index))
    } else {
      self = .cid(try parseCid(r.bytes(4) ?? [], field: "BlockAddress.cid"))
    }
  }
}
