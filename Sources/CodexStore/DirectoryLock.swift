import Foundation
import Synchronization

/// An exclusive lock on a directory, held as `flock(2)` on its `LOCK` file for as long as this value lives (or until
/// `release()`).
///
/// Two processes writing one repo would append to the same pack files at the same offsets and each trust its own
/// idea of the committed lengths: data loss. The lock makes the second one fail at start instead. The kernel drops a
/// `flock` lock when its process dies, however it dies, so a crash never leaves a stale lock behind; the file itself
/// stays (removing it would race with a process about to lock it). The holder's pid is written into the file only so
/// that the error can name it.
public final class DirectoryLock: Sendable {
  /// The directory is locked by someone else.
  public struct InUseError: Error, CustomStringConvertible, Sendable {
    public let directory: String
    /// The process holding the lock, when its pid could be read from the lock file.
    public let holder: Int32?
    public var description: String {
      let who = holder.map { "another process (pid \($0))" } ?? "another process"
      return
        "\(directory) is in use by \(who), probably another codex node: stop it first, or give this node another --data-dir"
    }
  }

  public let directory: String
  private let fd: Mutex<Int32>

  /// Locks `directory` (which must exist) or throws at once.
  /// - Throws: `InUseError` when another open lock holds it (this process's included, after 2 s), `StoreError.io`
  ///   when the lock file cannot be opened or locked.
  public init(directory: String) throws {
    self.directory = directory
    let path = directory + "/LOCK"
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StoreError.io("cannot open \(path): \(PackFiles.errnoText())") }
    // A lock this process released may stay held for a moment by a child it is forking (the child shares the lock
    // file's open description until its exec closes it): when the holder is this process, retry for up to 2 s.
    var waitedForOwnChild = 0
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let code = errno
      if code == EINTR { continue }
      let holder = code == EWOULDBLOCK ? Self.readPid(fd) : nil
      if holder == getpid(), waitedForOwnChild < 200 {
        waitedForOwnChild += 1
        usleep(10_000)
        continue
      }
      close(fd)
      if code == EWOULDBLOCK { throw InUseError(directory: directory, holder: holder) }
      throw StoreError.io("cannot lock \(path): \(PackFiles.errnoText(code))")
    }
    // Best effort: the pid only makes the other side's error message better.
    let text = Array("\(getpid())\n".utf8)
    if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    self.fd = Mutex(fd)
  }

  deinit { release() }

  /// Gives the lock up (closing the lock file). Later calls do nothing.
  public func release() {
    fd.withLock { fd in
      guard fd >= 0 else { return }
      close(fd)
      fd = -1
    }
  }

  /// The pid in the lock file, if it holds one.
  private static func readPid(_ fd: Int32) -> Int32? {
    var buffer = [UInt8](repeating: 0, count: 16)
    let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard n > 0 else { return nil }
    let text = String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return Int32(text).flatMap { $0 > 0 ? $0 : nil }
  }
}
