import Foundation

/// Locates `shared/vectors` by walking up from this file (works from the repo and from CI's clone).
enum Vectors {
  static func directory(file: String = #filePath) -> URL? {
    if let env = ProcessInfo.processInfo.environment["CODEX_VECTORS_DIR"] { return URL(fileURLWithPath: env) }
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
    while dir.path != "/" {
      let candidate = dir.appendingPathComponent("shared/vectors")
      if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("formats.json").path) {
        return candidate
      }
      dir = dir.deletingLastPathComponent()
    }
    return nil
  }

  static func json(_ name: String) throws -> [String: Any] {
    guard let dir = directory() else { throw VectorError.missing(name) }
    let data = try Data(contentsOf: dir.appendingPathComponent(name))
    guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw VectorError.missing(name)
    }
    return obj
  }

  enum VectorError: Error { case missing(String) }
}
