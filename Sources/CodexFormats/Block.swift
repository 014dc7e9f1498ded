import Multiformats

/// A content-addressed block: bytes and the CID of their SHA-256.
public struct Block: Sendable, Hashable {
  public let cid: Cid
  public let data: [UInt8]

  /// Makes a block with `codec` (default `codex-block`) and the SHA-256 of `data`.
  public init(data: [UInt8], codec: Multicodec = .codexBlock) {
    self.data = data
    self.cid = Cid(codec: codec, multihash: Multihash(code: .sha2_256, digest: SHA256Hashing.digest(data)))
  }

  /// Wraps bytes received for `cid`, checking that they hash to it.
  /// - Throws: `FormatError.hashMismatch` when they don't, `.invalidField` for a hash other than sha2-256.
  public init(cid: Cid, data: [UInt8]) throws(FormatError) {
    guard cid.multihash.code == .sha2_256 else {
      throw .invalidField(message: "block CID hash \(cid.multihash.code)", field: "multihash")
    }
    guard SHA256Hashing.digest(data) == cid.multihash.digest else {
      throw .hashMismatch("block bytes do not hash to \(cid)")
    }
    self.cid = cid
    self.data = data
  }

  /// Wraps bytes without hashing them. For bytes read back from our own store, which were checked on the way in.
  public init(unchecked cid: Cid, data: [UInt8]) {
    self.cid = cid
    self.data = data
  }
}
