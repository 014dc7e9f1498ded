import CodexStore
import Synchronization

/// The quota that running uploads which declared their size (a `Content-Length`) will still take.
///
/// Each such upload is admitted only if its blocks fit in the free quota left after the promises of the uploads and
/// downloads already running, and then promises its own size; the promise shrinks as its batches are stored and
/// ends with the upload. Without it, uploads that each fit alone but not together all start, share the free quota
/// batch by batch, and all fail half-way when it runs out, where the first ones could have completed. Uploads of
/// unknown size promise nothing but leave the others' promises free (`RepoStore.beginUpload(leaving:)`).
///
/// A promise shrinks by what its upload's session has committed (`UploadSession.leafCount`), which is what the
/// quota counts as used from then on: a batch the store is still writing stays promised. (A batch is counted as
/// committed a moment before other readers see it in the quota, so an admission in that moment may count it in
/// neither; the store's quota check stays the hard limit.)
public final class UploadPromises: Sendable {
  private struct Entry {
    var bytes: UInt64
    /// Bytes of the promise its upload stored so far (nil until its session exists).
    var stored: (@Sendable () -> UInt64)?

    var remaining: UInt64 {
      let done = stored?() ?? 0
      return bytes - min(bytes, done)
    }
  }

  private struct State {
    var entries: [Int: Entry] = [:]
    var nextID = 0

    /// What the promises other than `excluded` still hold: bytes and how many.
    func promised(excluding excluded: Int?) -> (bytes: UInt64, uploads: Int) {
      var total: UInt64 = 0
      var count = 0
      for (id, entry) in entries where id != excluded {
        let left = entry.remaining
        guard left > 0 else { continue }
        total += left
        count += 1
      }
      return (total, count)
    }
  }

  private let state = Mutex(State())

  public init() {}

  /// What the running uploads other than `excluded` will still take: bytes and how many uploads.
  public func promised(excluding excluded: Int? = nil) -> (bytes: UInt64, uploads: Int) {
    state.withLock { $0.promised(excluding: excluded) }
  }

  /// Records a promise of `bytes` when they fit in `available` less what the running `downloads` and uploads hold;
  /// returns its id. Checked and recorded under one lock: of two uploads admitted at once, the second sees the
  /// first's promise.
  /// - Throws: `NodeError.quotaPromised` when they do not fit.
  func admit(
    _ bytes: UInt64, available: UInt64, downloads: (bytes: UInt64, downloads: Int)
  ) throws(NodeError) -> UploadPromise {
    let id = try state.withLock { s throws(NodeError) -> Int in
      let hold = QuotaHold(downloads: downloads, uploads: s.promised(excluding: nil))
      if hold.holders > 0, !hold.leavesRoom(for: bytes, in: available) {
        throw NodeError.quotaPromised(needed: bytes, available: available, hold: hold)
      }
      let id = s.nextID
      s.nextID += 1
      s.entries[id] = Entry(bytes: bytes)
      return id
    }
    return UploadPromise(id: id, book: self)
  }

  /// From now on, promise `id` is smaller by what `stored` says its upload stored.
  fileprivate func track(_ id: Int, stored: @escaping @Sendable () -> UInt64) {
    state.withLock { $0.entries[id]?.stored = stored }
  }

  /// Ends promise `id`.
  fileprivate func end(_ id: Int) {
    _ = state.withLock { $0.entries.removeValue(forKey: id) }
  }
}

/// One upload's promise in an `UploadPromises` book.
struct UploadPromise: Sendable {
  let id: Int
  let book: UploadPromises

  /// The promise shrinks by what `stored` says the upload stored (blocks new or already here alike).
  func track(stored: @escaping @Sendable () -> UInt64) { book.track(id, stored: stored) }

  /// The upload ended (committed, aborted or dropped): it takes nothing more.
  func end() { book.end(id) }
}

extension QuotaHold {
  /// What running downloads and sized uploads hold together.
  init(downloads: (bytes: UInt64, downloads: Int), uploads: (bytes: UInt64, uploads: Int)) {
    self.init(bytes: downloads.bytes + uploads.bytes, downloads: downloads.downloads, uploads: uploads.uploads)
  }
}
