import Foundation
import Multiformats

/// Errors of the block stores, each with a message a person can act on.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Storing `needed` more bytes would pass the quota.
  case quotaExceeded(needed: UInt64, available: UInt64)
  /// `needed` more bytes fit in the `available` quota only by taking bytes an upload session must leave to others
  /// (`hold`: bytes promised to the node's running downloads and sized uploads).
  case quotaHeld(needed: UInt64, available: UInt64, hold: QuotaHold)
  /// The block is referenced by a dataset and has not expired.
  case blockInUse(Cid)
  /// A block with this CID is already stored with another size.
  case sizeMismatch(Cid, stored: Int, given: Int)
  /// Something the store needs is not there.
  case notFound(String)
  /// The repo on disk is unusable (wrong version, unreadable, corrupt); the message says which file.
  case corrupt(String)
  /// An I/O or database failure, with the underlying reason.
  case io(String)
  /// The file system holding the repo is full (or the user's disk quota is used up): what failed. Nothing of the
  /// failed write is kept.
  case diskFull(String)
  /// The caller asked for something that cannot be done (e.g. releasing more bytes than are reserved, using a
  /// finished upload session, a closed store).
  case invalidArgument(String)

  public var description: String {
    switch self {
    case .quotaExceeded(let needed, let available):
      return
        "storage quota exceeded: \(needed) bytes needed, \(available) available (raise --storage-quota or delete data)"
    case .quotaHeld(let needed, let available, let hold):
      return
        "storage quota exceeded: \(needed) bytes needed, \(available) available of which \(hold.bytes) are promised to"
        + " \(hold.holdersText) (wait for \(hold.holders == 1 ? "it" : "them"), raise --storage-quota or delete data)"
    case .blockInUse(let cid): return "block \(cid) is part of a dataset; delete the dataset instead"
    case .sizeMismatch(let cid, let stored, let given):
      return "same cid but with a different size: \(cid) is stored with \(stored) bytes, got \(given)"
    case .notFound(let what): return "not found: \(what)"
    case .corrupt(let why): return "repository is corrupt: \(why)"
    case .io(let why): return "storage I/O error: \(why)"
    case .diskFull(let what):
      return
        "the disk holding the repo is full (\(what)); free space on it or lower --storage-quota below what it holds"
    case .invalidArgument(let why): return "invalid storage request: \(why)"
    }
  }

  /// True for the errors that mean there is no room for more bytes (quota, full disk): a reader of blocks fetched
  /// or rebuilt for it can still use them without keeping them.
  public var isLackOfRoom: Bool {
    switch self {
    case .quotaExceeded, .quotaHeld, .diskFull: return true
    default: return false
    }
  }

  /// `.diskFull` when the last system call failed for lack of space (ENOSPC, EDQUOT), else `.io`; `what` names the
  /// operation, the errno text is appended.
  static func fromErrno(_ what: String) -> StoreError {
    let code = errno
    let text = "\(what) failed: \(PackFiles.errnoText(code))"
    return code == ENOSPC || code == EDQUOT ? .diskFull(text) : .io(text)
  }
}

/// Quota a writer must leave free: `bytes` promised to others, the node's running network downloads (what they
/// still have to fetch) and uploads that declared their size (what they still have to send).
public struct QuotaHold: Sendable, Equatable {
  public var bytes: UInt64
  /// Running downloads that hold part of `bytes`.
  public var downloads: Int
  /// Running uploads that hold part of `bytes`.
  public var uploads: Int

  public init(bytes: UInt64, downloads: Int = 0, uploads: Int = 0) {
    self.bytes = bytes
    self.downloads = downloads
    self.uploads = uploads
  }

  /// Downloads and uploads together.
  public var holders: Int { downloads + uploads }

  /// True when `needed` bytes fit in `available` quota and leave these bytes free.
  public func leavesRoom(for needed: UInt64, in available: UInt64) -> Bool {
    needed <= available - min(available, bytes)
  }

  /// Who holds the bytes, for a message: "the download running", "the 2 uploads running", "the 2 uploads and the
  /// download running".
  public var holdersText: String {
    func part(_ n: Int, _ what: String) -> String? {
      n == 0 ? nil : n == 1 ? "the \(what)" : "the \(n) \(what)s"
    }
    let parts = [part(uploads, "upload"), part(downloads, "download")].compactMap { $0 }
    return parts.isEmpty ? "nobody" : parts.joined(separator: " and ") + " running"
  }
}
