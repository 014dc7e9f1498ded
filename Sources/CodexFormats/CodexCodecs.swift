import Multiformats

/// Constants and CID constructors shared by the Codex formats (`formats.md` §1.6, §1.9).
public enum Codex {
  /// Bytes per block (`DefaultBlockSize`).
  public static let defaultBlockSize = 65536
  /// Bytes per slot cell (`DefaultCellSize`).
  public static let defaultCellSize = 2048
  public static let defaultMaxSlotDepth = 32
  public static let defaultMaxDatasetDepth = 8
  public static let defaultBlockDepth = 5
  public static let defaultCellElements = 67
  public static let defaultSamplesNum = 5

  /// The block CID of the zero-length byte string: marks padding leaves and is never stored.
  public static let emptyBlockCid = blockCid(sha256: SHA256Hashing.digest([UInt8]()))

  /// `codex-block` + sha2-256 CID for a block digest.
  public static func blockCid(sha256 digest: [UInt8]) -> Cid {
    Cid(codec: .codexBlock, multihash: Multihash(code: .sha2_256, digest: digest))
  }

  /// `codex-root` + sha2-256 CID for a dataset tree root.
  public static func treeCid(root: [UInt8]) -> Cid {
    Cid(codec: .codexRoot, multihash: Multihash(code: .sha2_256, digest: root))
  }

  /// `codex-manifest` + sha2-256 CID of manifest bytes.
  public static func manifestCid(for manifestBytes: [UInt8]) -> Cid {
    Cid(codec: .codexManifest, multihash: Multihash(code: .sha2_256, digest: SHA256Hashing.digest(manifestBytes)))
  }

  /// True for the empty block CID (`formats.md` §1.7).
  public static func isEmpty(_ cid: Cid) -> Bool { cid == emptyBlockCid }
}
