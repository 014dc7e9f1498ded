import Foundation
import Logging
import Multiformats
import Synchronization

/// The background downloads (`POST /data/{cid}/network`) to resume when the node starts again: a JSON array of
/// manifest CIDs in `<dataDir>/downloads.json`. A download is recorded when it starts and forgotten when it
/// completes, fails, or its dataset is deleted; one cut short by the node stopping (or crashing) stays recorded.
///
/// Each change rewrites the small file through a temporary file and a rename, so a crash leaves the old list or the
/// new one. Failing to write it is logged and otherwise ignored: the download itself goes on.
final class DownloadJournal: Sendable {
  let path: String
  private let logger: Logger
  private let cids: Mutex<[Cid]>

  /// Reads the journal at `path` (none yet: empty; unreadable: logged and empty).
  init(path: String, logger: Logger) {
    self.path = path
    self.logger = logger
    var loaded: [Cid] = []
    if let data = FileManager.default.contents(atPath: path) {
      do {
        loaded = try JSONDecoder().decode([String].self, from: data).map { try Cid(string: $0) }
      } catch {
        logger.warning(
          "ignoring an unreadable list of downloads to resume", metadata: ["path": "\(path)", "error": "\(error)"])
      }
    }
    cids = Mutex(loaded)
  }

  /// The downloads recorded as unfinished, oldest first.
  var unfinished: [Cid] { cids.withLock { $0 } }

  /// Records a running download of `cid`.
  func add(_ cid: Cid) {
    cids.withLock { list in
      guard !list.contains(cid) else { return }
      list.append(cid)
      save(list)
    }
  }

  /// Forgets the download of `cid`.
  func remove(_ cid: Cid) {
    cids.withLock { list in
      guard let i = list.firstIndex(of: cid) else { return }
      list.remove(at: i)
      save(list)
    }
  }

  private func save(_ list: [Cid]) {
    let temporary = path + ".tmp"
    do {
      let data = try JSONEncoder().encode(list.map(\.string))
      guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
      else { throw CocoaError(.fileWriteUnknown) }
      guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    } catch {
      logger.warning(
        "cannot record the downloads to resume after a restart", metadata: ["path": "\(path)", "error": "\(error)"])
    }
  }
}
