#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads small secret files (the node key, the Ethereum key) under nim-codex's `checkSecureFile` rule: a regular
/// file whose permission bits are exactly 0600 — group or other access, but also 0400 or 0700, is refused. The
/// caller turns a ``Failure`` into its own typed error with a message naming the file's purpose.
public enum OwnerOnlyFile {
  /// Why the file could not be read.
  public enum Failure: Error, Sendable, Hashable {
    /// No file at the path.
    case notFound
    /// The path is not a regular file.
    case wrongFileType
    /// Permission bits other than exactly 0600 (`mode` is the permission bits).
    case unsafePermissions(mode: UInt32)
    /// The file holds more than the caller's limit (`size` is at least limit + 1).
    case tooLarge(size: Int)
    /// An operating-system call failed: `operation` is "open", "stat" or "read".
    case io(operation: String, errno: Int32)
  }

  /// The file's bytes, at most `maxSize` of them.
  /// - Throws: ``Failure``.
  public static func contents(at path: String, maxSize: Int) throws(Failure) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      let code = errno
      throw code == ENOENT ? .notFound : .io(operation: "open", errno: code)
    }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { throw .io(operation: "stat", errno: errno) }
    guard info.st_mode & S_IFMT == S_IFREG else { throw .wrongFileType }
    let mode = UInt32(info.st_mode & 0o777)
    guard mode == 0o600 else { throw .unsafePermissions(mode: mode) }
    guard info.st_size <= maxSize else { throw .tooLarge(size: Int(info.st_size)) }
    var buffer = [UInt8](repeating: 0, count: maxSize + 1)
    var total = 0
    while total < buffer.count {
      let count = buffer.withUnsafeMutableBytes { raw in
        read(descriptor, raw.baseAddress! + total, raw.count - total)
      }
      if count < 0 {
        if errno == EINTR { continue }
        throw .io(operation: "read", errno: errno)
      }
      if count == 0 { break }
      total += count
    }
    guard total <= maxSize else { throw .tooLarge(size: total) }
    return Array(buffer[..<total])
  }

  /// `strerror` text with the number, for messages.
  public static func describe(errno code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text) + " (errno \(code))"
  }

  /// Permission bits as four octal digits (`0644`).
  public static func octal(_ mode: UInt32) -> String {
    let digits = String(mode, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
  }
}
