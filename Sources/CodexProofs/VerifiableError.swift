import Multiformats

/// Why a verifiable manifest cannot be built, or a slot does not match its manifest.
public enum VerifiableError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Slots need erasure-coding info; the manifest is a plain upload.
  case notProtected
  /// The protected manifest contradicts itself (counts, codecs, sizes).
  case invalidManifest(String)
  /// The dataset cannot be cut into slots.
  case invalidLayout(SlotLayoutError)
  /// A block of the protected dataset is not in the store.
  case missingBlock(tree: Cid, index: Int)
  /// A stored block does not have the manifest's block size.
  case invalidBlock(tree: Cid, index: Int, size: Int, expected: Int)
  /// The manifest is already verifiable but its slots rebuild to a different verify root.
  case verifyRootMismatch(expected: Cid, actual: Cid)
  /// A slot rebuilt from its blocks does not have the manifest's slot root (the host's check).
  case slotRootMismatch(slot: Int, expected: Cid, actual: Cid)
  /// A slot or verify root in the manifest is not a Poseidon2 root CID.
  case invalidRoot(String)

  public var description: String {
    switch self {
    case .notProtected:
      return "the manifest is not protected (erasure-code the dataset first, POST /data/{cid}/protect)"
    case .invalidManifest(let why): return "inconsistent protected manifest: \(why)"
    case .invalidLayout(let e): return "cannot cut the dataset into slots: \(e.description)"
    case .missingBlock(let tree, let index): return "block \(index) of tree \(tree) is not stored here"
    case .invalidBlock(let tree, let index, let size, let expected):
      return "block \(index) of tree \(tree) has \(size) bytes, expected \(expected)"
    case .verifyRootMismatch(let expected, let actual):
      return "slots rebuild to verify root \(actual), but the manifest says \(expected)"
    case .slotRootMismatch(let slot, let expected, let actual):
      return "slot \(slot) rebuilds to root \(actual), but the manifest says \(expected)"
    case .invalidRoot(let why): return "invalid slot or verify root: \(why)"
    }
  }
}
