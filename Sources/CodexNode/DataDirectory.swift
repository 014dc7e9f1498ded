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

  /// Makes sure `path` exists as a directory only its owner can read, write and enter.
  public static func prepare(_ path: String) throws {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDir) {
      guard isDir.boolValue else { throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: path]) }
      let attrs = try fm.attributesOfItem(atPath: path)
      let mode = (attrs[.posixPermissions] as? Int) ?? 0
      guard mode & 0o077 == 0 else { throw InsecureError(path: path, mode: mode) }
    } else {
      try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
  }
}
