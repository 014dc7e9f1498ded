import Foundation

/// Golden data from `shared/vectors`, found by walking up from this source file (works from the repo beside
/// `../shared` and from CI's clone) or at `$CODEX_VECTORS_DIR`.
public enum TestVectors {
  /// A vector file could not be found or parsed.
  public struct Missing: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "test vector \(name) not found under shared/vectors (or $CODEX_VECTORS_DIR)" }
  }

  /// The URL of `shared/vectors/<name>`, or nil when there is none.
  public static func url(_ name: String) -> URL? {
    if let env = ProcessInfo.processInfo.environment["CODEX_VECTORS_DIR"] {
      let url = URL(fileURLWithPath: env).appendingPathComponent(name)
      return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
      let candidate = dir.appendingPathComponent("shared/vectors/\(name)")
      if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return nil
  }

  /// The bytes of `shared/vectors/<name>`.
  public static func data(_ name: String) throws -> Data {
    guard let url = url(name) else { throw Missing(name: name) }
    return try Data(contentsOf: url)
  }

  /// `shared/vectors/<name>` parsed as a JSON object.
  public static func json(_ name: String) throws -> [String: Any] {
    guard let obj = try JSONSerialization.jsonObject(with: data(name)) as? [String: Any] else {
      throw Missing(name: name)
    }
    return obj
  }
}
