import CodexNode
import Foundation
import Testing

/// `rest-and-cli.md` §start-up: the data directory is created with mode 0700; an existing one with insecure
/// permissions aborts start-up with the fix in the message; a path that is a file is refused.
@Suite struct DataDirectoryTests {
  static func mode(_ path: String) throws -> Int {
    try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
  }

  @Test func createdPrivateRefusedWhenInsecureOrNotADirectory() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("datadir-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let nested = root + "/a/b"
    try DataDirectory.prepare(nested)
    #expect(try Self.mode(nested) == 0o700)
    try DataDirectory.prepare(nested)  // an existing private directory is fine

    #expect(chmod(nested, 0o755) == 0)
    let error = try #require(throws: DataDirectory.InsecureError.self) { try DataDirectory.prepare(nested) }
    #expect(error.mode == 0o755)
    #expect(error.description.contains("chmod 700 \(nested)"))
    #expect(try Self.mode(nested) == 0o755)  // reported, not silently changed

    #expect(chmod(nested, 0o700) == 0)
    let file = nested + "/key"
    #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
    let notDir = try #require(throws: DataDirectory.UnusableError.self) { try DataDirectory.prepare(file) }
    #expect(notDir.description == "data directory \(file) cannot be used: it is a file, not a directory")
    // Under a file, nothing can be created.
    let under = try #require(throws: DataDirectory.UnusableError.self) { try DataDirectory.prepare(file + "/repo") }
    #expect(under.description.hasSuffix("cannot be created: \(file) is a file, not a directory"), "\(under)")
  }
}
