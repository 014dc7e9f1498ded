import Multiformats

/// Why protecting, decoding or repairing a dataset in a block store failed (`erasure.md` §2). Store errors
/// (`StoreError`, e.g. quota) are passed through unchanged; everything the erasure layer decides is one of these.
public enum ErasureCodingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `nodes`/`tolerance` (or `K`/`M`) that Codex refuses: REST 422.
  case invalidParameters(String)
  /// The plain dataset has fewer than `K` blocks (upstream `InsufficientBlocksError`): REST 422.
  case datasetTooSmall(blocks: Int, minimumBytes: Int)
  /// Protecting a manifest that is already protected.
  case alreadyProtected
  /// Decoding or repairing a manifest that is not protected.
  case notProtected
  /// The manifest's fields do not describe a layout this coder can use.
  case invalidManifest(String)
  /// A block the encoder needs (leaf `index` of `tree`) is not in the store.
  case missingBlock(tree: Cid, index: Int)
  /// A block read from the store is malformed (wrong size, proof does not verify).
  case invalidBlock(tree: Cid, index: Int, reason: String)
  /// Fewer than `K` blocks of an EC group are available: the group cannot be decoded.
  case unrecoverable(step: Int, available: Int, required: Int)
  /// Recovered data does not hash to the expected tree root.
  case verificationFailed(String)
  /// Re-encoding during repair gave a different protected tree.
  case repairMismatch(expected: Cid, got: Cid)
  /// The Reed-Solomon codec refused the call.
  case codec(ErasureError)

  public var description: String {
    switch self {
    case .invalidParameters(let why): return why
    case .datasetTooSmall(_, let minimumBytes):
      return "Dataset too small for erasure parameters, need at least \(minimumBytes) bytes"
    case .alreadyProtected: return "the manifest is already erasure-coded (protected)"
    case .notProtected: return "the manifest is not erasure-coded (protected)"
    case .invalidManifest(let why): return "invalid protected manifest: \(why)"
    case .missingBlock(let tree, let index): return "block \(index) of dataset tree \(tree) is not available"
    case .invalidBlock(let tree, let index, let reason): return "block \(index) of dataset tree \(tree): \(reason)"
    case .unrecoverable(let step, let available, let required):
      return "EC group \(step) cannot be recovered: \(available) of its blocks are available, \(required) needed"
    case .verificationFailed(let why): return "recovered data does not verify: \(why)"
    case .repairMismatch(let expected, let got):
      return "repair re-encoded to tree \(got), expected \(expected)"
    case .codec(let e): return e.description
    }
  }
}
