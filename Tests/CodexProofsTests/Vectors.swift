import Foundation

/// Locates and loads files from `shared/vectors` by walking up from this source file.
enum Vectors {
  static func url(_ name: String, file: String = #filePath) -> URL? {
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
    for _ in 0..<8 {
      let candidate = dir.appendingPathComponent("shared/vectors/\(name)")
      if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return nil
  }

  static func data(_ name: String) throws -> Data {
    guard let url = url(name) else { throw VectorsError.notFound(name) }
    return try Data(contentsOf: url)
  }

  static func json(_ name: String) throws -> [String: Any] {
    guard let obj = try JSONSerialization.jsonObject(with: data(name)) as? [String: Any] else {
      throw VectorsError.notFound(name)
    }
    return obj
  }
}

enum VectorsError: Error { case notFound(String) }

/// Hex helpers for tests.
func hexBytes(_ s: String) -> [UInt8] {
  var out: [UInt8] = []
  var it = s.makeIterator()
  while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
  return out
}

func hexString(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
