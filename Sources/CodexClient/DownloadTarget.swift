#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where a download goes.
public enum DownloadTarget: Sendable, Equatable {
  /// Standard output.
  case standardOutput
  /// A file path. A regular (or not yet existing) file is written through a temporary file beside it and
  /// renamed into place only on success, so a failed download never leaves a truncated file under the
  /// requested name. Other existing paths (`/dev/null`, FIFOs, devices) are written directly.
  case file(String)
}

/// An open destination for a download; `commit()` on success, otherwise `deinit` discards partial data.
struct OpenedOutput: ~Copyable {
  let fd: Int32
  let displayName: String
  private let finalPath: String?
  private let temporaryPath: String?
  private var committed = false

  init(_ target: DownloadTarget) throws(CodexClientError) {
    let opened = try Self.open(target)
    fd = opened.fd
    displayName = opened.name
    finalPath = opened.final
    temporaryPath = opened.temporary
  }

  private static func open(
    _ target: DownloadTarget
  ) throws(CodexClientError) -> (fd: Int32, name: String, final: String?, temporary: String?) {
    guard case .file(let path) = target else { return (1, "<stdout>", nil, nil) }
    var info = stat()
    let exists = stat(path, &info) == 0
    if exists && (info.st_mode & S_IFMT) == S_IFDIR {
      throw .file(path: path, reason: "is a directory (give a file name with -o)")
    }
    if exists && (info.st_mode & S_IFMT) != S_IFREG {
      let fd = systemOpen(path, O_WRONLY | O_CLOEXEC)
      guard fd >= 0 else { throw .file(path: path, reason: errnoText(errno)) }
      return (fd, path, nil, nil)
    }
    let temp = temporaryName(for: path, pid: getpid())
    let fd = systemOpen(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    // Named after the file asked for: the hidden temporary name would puzzle the person reading the error.
    guard fd >= 0 else { throw .file(path: path, reason: "cannot create it: \(errnoText(errno))") }
    return (fd, path, path, temp)
  }

  /// `<dir>/.<name>.codex-download-<pid>`: hidden, beside the final file (same file system for `rename`).
  static func temporaryName(for path: String, pid: Int32) -> String {
    let slash = path.lastIndex(of: "/")
    let dir = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    return "\(dir).\(name).codex-download-\(pid)"
  }

  /// Writes all of `bytes`.
  func write(_ bytes: UnsafeRawBufferPointer) throws(CodexClientError) {
    let code = Terminal.writeAll(fd: fd, bytes)
    if code != 0 { throw .file(path: displayName, reason: "write failed: \(errnoText(code))") }
  }

  /// Flushes and moves the temporary file into place.
  mutating func commit() throws(CodexClientError) {
    guard let temporaryPath, let finalPath else {
      committed = true
      return
    }
    if fsync(fd) != 0, errno != EINVAL {
      throw .file(path: displayName, reason: "fsync failed: \(errnoText(errno))")
    }
    guard rename(temporaryPath, finalPath) == 0 else {
      throw .file(path: finalPath, reason: "rename failed: \(errnoText(errno))")
    }
    committed = true
  }

  deinit {
    if fd > 2 { close(fd) }
    if !committed, let temporaryPath { unlink(temporaryPath) }
  }
}
