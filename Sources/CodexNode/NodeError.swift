import CodexFormats
import CodexStore
import Multiformats

/// What went wrong in a node operation, in words a person can act on. The REST layer maps each case to a status.
public enum NodeError: Error, Sendable, CustomStringConvertible {
  /// The text is not a CID.
  case invalidCid(String, MultiformatsError)
  /// The CID is valid but nothing with it is stored here.
  case notFound(Cid)
  /// Nothing with this CID is stored here and no connected peer delivered it; `why` says what the exchange saw
  /// (how long it waited, how many peers were connected).
  case notOnNetwork(Cid, why: String)
  /// The CID exists but is not a manifest where one is needed.
  case notAManifest(Cid)
  /// A stored manifest whose dataset blocks are missing.
  case missingBlock(tree: Cid, index: Int)
  /// Blocks of a dataset that are not stored here, with no peer connected to fetch them from.
  case blocksUnreachable(tree: Cid, missing: Int)
  /// The upload had no bytes; a dataset needs at least one.
  case emptyUpload
  /// The storage quota does not allow this.
  case quotaExceeded(needed: UInt64, available: UInt64)
  /// A network download or an upload would fit in the free quota, but not in what the running downloads and sized
  /// uploads (`hold`) leave of it.
  case quotaPromised(needed: UInt64, available: UInt64, hold: QuotaHold)
  /// Bad request data (mimetype, filename, range...).
  case invalidInput(String)
  /// A range outside the dataset.
  case rangeNotSatisfiable(size: UInt64)
  /// A format error in stored data.
  case format(FormatError)
  /// A storage failure.
  case store(StoreError)

  public var description: String {
    switch self {
    case .invalidCid(let text, let e): return "Incorrect Cid: '\(text)': \(e)"
    case .notFound(let cid): return "The requested CID could not be retrieved (\(cid) is not stored on this node)"
    case .notOnNetwork(let cid, let why):
      return
        "The requested CID could not be retrieved (\(cid) is not stored on this node and \(why))." + Self.connectHint
    case .notAManifest(let cid): return "\(cid) is not a manifest"
    case .missingBlock(let tree, let i): return "block \(i) of dataset tree \(tree) is not available"
    case .blocksUnreachable(let tree, let missing):
      let what = missing == 1 ? "a block" : "\(missing) blocks"
      return
        "\(what) of dataset tree \(tree) \(missing == 1 ? "is" : "are") not stored on this node and no peer is"
        + " connected to fetch \(missing == 1 ? "it" : "them") from." + Self.connectHint
    case .emptyUpload: return "The upload is empty: a dataset needs at least one byte"
    case .quotaExceeded(let needed, let available):
      return
        "Not enough storage quota: \(needed) bytes needed, \(available) available (raise --storage-quota or delete data)"
    case .quotaPromised(let needed, let available, let hold):
      return
        "Not enough storage quota: \(needed) bytes needed, \(available) available of which \(hold.bytes) are"
        + " promised to \(hold.holdersText) (wait for \(hold.holders == 1 ? "it" : "them"), raise --storage-quota"
        + " or delete data)"
    case .invalidInput(let why): return why
    case .rangeNotSatisfiable(let size): return "Requested range not satisfiable (dataset size \(size))"
    case .format(let e): return e.description
    case .store(let e): return e.description
    }
  }

  static let connectHint =
    " Connect to a peer that has it (`codex connect <its address>`, GET /api/codex/v1/connect/{peerId}?addrs=...,"
    + " or start the node with --bootstrap-node)"

  /// Converts store errors that have a node meaning (quota) and wraps the rest.
  public static func wrap(_ error: any Error) -> any Error {
    if let e = error as? StoreError {
      if case .quotaExceeded(let needed, let available) = e {
        return NodeError.quotaExceeded(needed: needed, available: available)
      }
      if case .quotaHeld(let needed, let available, let hold) = e {
        return NodeError.quotaPromised(needed: needed, available: available, hold: hold)
      }
      return NodeError.store(e)
    }
    if let e = error as? FormatError { return NodeError.format(e) }
    return error
  }
}
