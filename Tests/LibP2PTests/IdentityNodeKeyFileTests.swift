import Testing

@testable import LibP2P

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

@Suite("Identity: node key file")
struct IdentityNodeKeyFileTests {
  /// A fresh temporary directory, removed by the caller.
  static func temporaryDirectory() throws -> String {
    var template = Array("/tmp/swift-codex-keyfile-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    try #require(made != nil)
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  static func mode(_ path: String) -> mode_t {
    var info = stat()
    _ = stat(path, &info)
    return info.st_mode & 0o777
  }

  static func remove(_ directory: String, _ path: String) {
    unlink(path)
    rmdir(directory)
  }

  @Test func createsWithMode0600AndReloads() throws {
    let directory = try Self.temporaryDirectory()
    let path = directory + "/key"
    defer { Self.remove(directory, path) }
    let created = try NodeKeyFile.loadOrCreate(at: path)
    #expect(created.keyType == .secp256k1)
    #expect(Self.mode(path) == 0o600)
    let loaded = try NodeKeyFile.loadOrCreate(at: path)
    #expect(loaded.publicKey == created.publicKey)
    #expect(try NodeKeyFile.load(at: path).protobufEncoded.count == 36)
  }

  @Test func createNeverOverwrites() throws {
    let directory = try Self.temporaryDirectory()
    let path = directory + "/key"
    defer { Self.remove(directory, path) }
    let first = try NodeKeyFile.loadOrCreate(at: path)
    #expect {
      try NodeKeyFile.create(at: path, key: .generateSecp256k1())
    } throws: { ($0 as? NodeKeyFileError)?.code == .alreadyExists }
    #expect(try NodeKeyFile.load(at: path).publicKey == first.publicKey)
  }

  @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o602, 0o620, 0o400, 0o700, 0o200] as [mode_t])
  func groupOrOtherAccessIsRefused(mode: mode_t) throws {
    let directory = try Self.temporaryDirectory()
    let path = directory + "/key"
    defer { Self.remove(directory, path) }
    _ = try NodeKeyFile.loadOrCreate(at: path)
    #expect(chmod(path, mode) == 0)
    let error = try #require(throws: NodeKeyFileError.self) { try NodeKeyFile.loadOrCreate(at: path) }
    #expect(error.code == .unsafePermissions)
    #expect(error.message.contains("chmod 600 \(path)"))
    #expect(chmod(path, 0o600) == 0)
    _ = try NodeKeyFile.load(at: path)
  }

  @Test func garbageAndWrongKeyTypesAreRefused() throws {
    let directory = try Self.temporaryDirectory()
    let path = directory + "/key"
    defer { Self.remove(directory, path) }
    for contents: [UInt8] in [
      [], [1, 2, 3], PrivateKey.generateEd25519().protobufEncoded,
      [0x08, 0x02, 0x12, 0x20] + [UInt8](repeating: 0, count: 32),
    ] {
      unlink(path)
      let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
      #expect(descriptor >= 0)
      _ = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
      close(descriptor)
      let error = try #require(throws: NodeKeyFileError.self) { try NodeKeyFile.loadOrCreate(at: path) }
      #expect(error.code == .invalidKey)
    }
    // A directory at the path is not a key file.
    unlink(path)
    #expect(mkdir(path, 0o700) == 0)
    let error = try #require(throws: NodeKeyFileError.self) { try NodeKeyFile.load(at: path) }
    #expect(error.code == .wrongFileType)
    rmdir(path)
  }

  @Test func missingFileIsNotFound() throws {
    let error = try #require(throws: NodeKeyFileError.self) {
      try NodeKeyFile.load(at: "/nonexistent-swift-codex-dir/key")
    }
    #expect(error.code == .notFound)
    #expect(throws: NodeKeyFileError.self) { try NodeKeyFile.loadOrCreate(at: "/nonexistent-swift-codex-dir/key") }
  }
}
