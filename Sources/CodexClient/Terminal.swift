#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Small POSIX helpers for terminal-aware output.
public enum Terminal {
  /// Whether `fd` refers to a terminal.
  public static func isTTY(_ fd: Int32) -> Bool { isatty(fd) == 1 }

  /// The terminal width of `fd` (TIOCGWINSZ), else `$COLUMNS`, else 80.
  public static func width(of fd: Int32, environment: [String: String]) -> Int {
    var size = winsize()
    let rc = withUnsafeMutablePointer(to: &size) { ioctl(fd, UInt(TIOCGWINSZ), $0) }
    if rc == 0, size.ws_col > 0 { return Int(size.ws_col) }
    if let text = environment["COLUMNS"], let columns = Int(text), columns > 0 { return columns }
    return 80
  }

  /// Writes all of `text` to `fd`, retrying on short writes and EINTR; errors are ignored (best effort, used
  /// for diagnostics on stderr).
  public static func write(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)
    _ = writeAll(fd: fd, &bytes)
  }

  /// Writes all bytes; returns 0 or the errno of the failure.
  @discardableResult
  static func writeAll(fd: Int32, _ bytes: inout [UInt8]) -> Int32 {
    bytes.withUnsafeBytes { raw in writeAll(fd: fd, raw) }
  }

  /// Writes all bytes of `raw`; returns 0 or the errno of the failure.
  static func writeAll(fd: Int32, _ raw: UnsafeRawBufferPointer) -> Int32 {
    guard var base = raw.baseAddress else { return 0 }
    var left = raw.count
    while left > 0 {
      let n = systemWrite(fd, base, left)
      if n < 0 {
        if errno == EINTR { continue }
        return errno
      }
      left -= n
      base += n
    }
    return 0
  }
}

/// `write(2)` under a name that does not clash with ``Terminal/write(_:to:)``.
@inline(__always)
func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
  #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
  #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
  #else
    return Darwin.write(fd, buffer, count)
  #endif
}

/// `open(2)` under a name that does not clash with other `open` functions in scope.
func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
  #if canImport(Glibc)
    return Glibc.open(path, flags, mode)
  #elseif canImport(Musl)
    return Musl.open(path, flags, mode)
  #else
    return Darwin.open(path, flags, mode)
  #endif
}
