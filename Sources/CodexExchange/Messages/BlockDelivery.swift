import CodexFormats
import Multiformats

/// A delivered block: `{1: cid, 2: data, 3: address, 4: proof}` (`blockexc.md` §2; the stale .proto's
/// `Block{prefix,data}` is wrong).
///
/// A decoded delivery's data always hashes to its CID: `init(encoded:)` checks it and throws otherwise.
public struct BlockDelivery: Hashable, Sendable {
  public var block: Block
  public var address: BlockAddress
  /// The inclusion proof; written only for leaf addresses.
  public var proof: CodexProof?

  /// Makes a delivery. The caller vouches that `block` is consistent (e.g. it came out of `Block(data:)` or a
  /// store that checks hashes).
  public init(block: Block, address: BlockAddress, proof: CodexProof? = nil) {
    self.block = block
    self.address = address
    self.proof = proof
  }

  func write(to w: inout ProtobufWriter) {
    w.write(1, bytes: block.cid.bytes)
    w.write(2, bytes: block.data)
    var a = ProtobufWriter()
    address.write(to: &a)
    w.write(3, message: a)
    if address.isLeaf, let proof { w.write(4, bytes: proof.encoded) }
  }

  /// Decodes a delivery and checks that `data` hashes to `cid` (per the CID's multihash).
  /// - Throws: `MessageError.hashMismatch` for bytes that do not match, other `MessageError`s for bad fields.
  public init(encoded bytes: some Collection<UInt8>) throws(MessageError) {
    try self.init(unhashed: bytes)
    if SHA256Hashing.digest(block.data) != block.cid.multihash.digest { throw MessageError.hashMismatch(block.cid) }
  }

  /// Decodes a delivery; its CID must be SHA-256 but the bytes are not hashed here (`Message(encoded:)` checks a
  /// message's deliveries together).
  init(unhashed bytes: some Collection<UInt8>) throws(MessageError) {
    let r = try readProtobuf(bytes)
    let cid = try parseCid(r.bytes(1) ?? [], field: "BlockDelivery.cid")
    guard cid.multihash.code == .sha2_256 else {
      throw MessageError.invalidValue(field: "BlockDelivery.cid", "block CID hash \(cid.multihash.code)")
    }
    block = Block(unchecked: cid, data: r.bytes(2) ?? [])
    guard let a = r.slice(3) else { throw MessageError.invalidValue(field: "BlockDelivery.address", "missing") }
    address = try BlockAddress(encoded: a)
    if let p = r.slice(4) {
      do { proof = try CodexProof(encoded: p) } catch { throw MessageError.invalidProof(error.description) }
    } else {
      proof = nil
    }
  }
}
