import Foundation

/// Creates the data directory with mode 0700, or checks that an existing one is private to its owner.
public enum DataDirectory {
  /// A data directory that is unsafe to use.
  public struct InsecureError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let mode: Int
    public var description: String {
      "data directory \(path) has insecure permissions \(String(mode, radix: 8)); run `chmod 700 \(path)`"
    }
  }

  /// A data directory that cannot be used as one: the path names a file, or it cannot be created or read.
  public struct UnusableError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let why: String
    public var description: String { "data directory \(path) cannot be used: \(why)" }
  }

  /// Makes sure `path` exists as a directory only its owner can read, write and enter.
  /// - Throws: `InsecureError` for an existing directory others can access, `UnusableError` otherwise.
  public static func prepare(_ path: String) throws {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDir) {
      guard isDir.boolValue else { throw UnusableError(path: path, why: "it is a file, not a directory") }
      let attrs: [FileAttributeKey: Any]
      do { attrs = try fm.attributesOfItem(atPath: path) } catch {
        throw UnusableError(path: path, why: "its attributes cannot be read (\(Self.reason(error)))")
      }
      let mode = (attrs[.posixPermissions] as? Int) ?? 0
      guard mode & 0o077 == 0 else { throw InsecureError(path: path, mode: mode) }
    } else {
      do {
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      } catch {
        throw UnusableError(path: path, why: "it cannot be created: \(Self.reason(creating: path, error))")
      }
    }
  }

  /// The POSIX reason under a Foundation file error ("No such file or directory", "Permission denied", ...).
  static func reason(_ error: any Error) -> String {
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(underlying.code)))
    }
    return ns.localizedDescription
  }

  /// Why `path` could not be created, found by looking at its nearest existing ancestor (Foundation's error often
  /// does not say).
  static func reason(creating path: String, _ error: any Error) -> String {
    var ancestor = (path as NSString).deletingLastPathComponent
    while !ancestor.isEmpty && !FileManager.default.fileExists(atPath: ancestor) {
      let parent = (ancestor as NSString).deletingLastPathComponent
      if parent == ancestor { break }
      ancestor = parent
    }
    if ancestor.isEmpty { ancestor = "." }
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDir) {
      if !isDir.boolValue { return "\(ancestor) is a file, not a directory" }
      if access(ancestor, W_OK | X_OK) != 0 {
        return "\(ancestor) is not writable (\(String(cString: strerror(errno))))"
      }
    }
    return reason(error)
  }
}
