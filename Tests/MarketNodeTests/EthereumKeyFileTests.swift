import CodexMarket
import CodexNode
import Foundation
import Testing

@Suite struct EthereumKeyFileTests {
  @Test func acceptsHexWithAndWithoutPrefixAndNewline() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    for (i, text) in [
      hardhatKey0, hardhatKey0 + "\n", String(hardhatKey0.dropFirst(2)) + "\r\n",
      "  " + hardhatKey0.uppercased().replacingOccurrences(of: "0X", with: "0x") + " \n",
    ].enumerated() {
      let key = try EthereumKeyFile.load(at: try dir.file("k\(i)", text))
      #expect(key.address.checksummed == hardhatAddress0)
    }
  }

  @Test func refusesLoosePermissions() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    for mode in [0o644, 0o640, 0o604, 0o400, 0o700, 0o666] {
      let path = try dir.file("k\(mode)", hardhatKey0, mode: mode)
      let error = #expect(throws: EthereumKeyFileError.self) { try EthereumKeyFile.load(at: path) }
      #expect(error?.code == .unsafePermissions)
      #expect(error?.description.contains("chmod 600 \(path)") == true)
      #expect(error?.description.contains(String(mode, radix: 8)) == true)
    }
  }

  @Test func missingDirectoryAndGarbage() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let missing = #expect(throws: EthereumKeyFileError.self) { try EthereumKeyFile.load(at: dir.path + "/nope") }
    #expect(missing?.code == .notFound)
    let sub = dir.path + "/d"
    try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: sub)
    let notFile = #expect(throws: EthereumKeyFileError.self) { try EthereumKeyFile.load(at: sub) }
    #expect(notFile?.code == .wrongFileType)
    for (i, text) in [
      "", "0x", "hello", String(hardhatKey0.dropLast()), hardhatKey0 + "00", "0x" + String(repeating: "0", count: 64),
      "0x" + String(repeating: "f", count: 64), String(repeating: "z", count: 64),
    ].enumerated() {
      let e = #expect(throws: EthereumKeyFileError.self) { try EthereumKeyFile.load(at: try dir.file("g\(i)", text)) }
      #expect(e?.code == .invalidKey)
    }
  }

  /// Random and mutated bytes never trap; they either parse to a key or throw `.invalidKey`.
  @Test func fuzzParse() {
    var rng = SystemRandomNumberGenerator()
    let base = Array((hardhatKey0 + "\n").utf8)
    for i in 0..<3000 {
      var bytes: [UInt8]
      if i % 2 == 0 {
        bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      } else {
        bytes = base
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
      }
      do { _ = try EthereumKeyFile.parse(bytes, path: "fuzz") } catch { #expect(error.code == .invalidKey) }
    }
  }
}
