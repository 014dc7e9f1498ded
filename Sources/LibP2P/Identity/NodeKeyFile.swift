#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why the node key file could not be used.
public struct NodeKeyFileError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The kind of failure.
  public enum Code: Sendable, Hashable {
    /// The file is readable or writable by group or others.
    case unsafePermissions
    /// The path exists but is not the expected kind of file (a regular key file; a data directory).
    case wrongFileType
    /// The file does not hold a usable `PrivateKey` protobuf.
    case invalidKey
    /// No file exists at the path (``NodeKeyFile/load(at:)``).
    case notFound
    /// A file already exists at the path (``NodeKeyFile/create(at:key:)``).
    case alreadyExists
    /// An operating-system call failed.
    case io
  }

  /// The kind of failure.
  public var code: Code
  /// The key file path.
  public var path: String
  /// A sentence a person can act on.
  public var message: String

  public init(_ code: Code, path: String, _ message: String) {
    self.code = code
    self.path = path
    self.message = message
  }

  public var description: String { message }
}

/// The node identity key file (`libp2p.md` §2.2): `<data-dir>/key` by default, holding the libp2p
/// `PrivateKey` protobuf of a secp256k1 key (36 bytes), readable by the owner only.
///
/// Like nim-codex (`checkSecureFile`), a key file whose permission bits are not exactly 0600 is refused
/// (group or other access, but also 0400 or 0700); the error tells the operator to `chmod 600` it. New
/// files are created with mode 0600 (exclusive create, fsync). The data directory itself is CodexNode's
/// `DataDirectory`.
public enum NodeKeyFile {
  /// Largest file accepted (a secp256k1 key file is 36 bytes).
  static let maxSize = 4096

  /// Loads the key at `path`, or creates a new secp256k1 key there if no file exists.
  ///
  /// - Throws: ``NodeKeyFileError``.
  public static func loadOrCreate(at path: String) throws(NodeKeyFileError) -> PrivateKey {
    for _ in 0..<3 {
      do {
        return try load(at: path)
      } catch let error where error.code == .notFound {
        let key = PrivateKey.generateSecp256k1()
        do {
          try create(at: path, key: key)
          return key
        } catch let createError where createError.code == .alreadyExists {
          continue  // Lost a race with another creator: load theirs.
        }
      }
    }
    throw NodeKeyFileError(.io, path: path, "could not load or create the key file \(path)")
  }

  /// Loads and checks the key file at `path`.
  ///
  /// - Throws: ``NodeKeyFileError``: `.unsafePermissions` (with the `chmod 600` fix), `.wrongFileType`,
  ///   `.invalidKey` (not a secp256k1 `PrivateKey` protobuf), `.notFound`, `.io`.
  public static func load(at path: String) throws(NodeKeyFileError) -> PrivateKey {
    let bytes: [UInt8]
    do {
      bytes = try OwnerOnlyFile.contents(at: path, maxSize: maxSize)
    } catch {
      switch error {
      case .notFound: throw NodeKeyFileError(.notFound, path: path, "key file \(path) does not exist")
      case .wrongFileType:
        throw NodeKeyFileError(.wrongFileType, path: path, "key file \(path) is not a regular file")
      case .unsafePermissions(let mode):
        throw NodeKeyFileError(
          .unsafePermissions, path: path,
          "key file \(path) has unsafe permissions \(OwnerOnlyFile.octal(mode)): it must be 0600 (read and write by "
            + "its owner only), as Codex requires; fix with `chmod 600 \(path)`")
      case .tooLarge(let size):
        throw NodeKeyFileError(.invalidKey, path: path, "key file \(path) is \(size) bytes, not a key")
      case .io(let operation, let code):
        throw NodeKeyFileError(
          .io, path: path, "cannot \(operation) key file \(path): \(OwnerOnlyFile.describe(errno: code))")
      }
    }
    let key: PrivateKey
    do {
      key = try PrivateKey(protobufEncoded: bytes)
    } catch {
      throw NodeKeyFileError(
        .invalidKey, path: path, "key file \(path) does not hold a libp2p private key: \(error.message)")
    }
    guard key.keyType == .secp256k1 else {
      throw NodeKeyFileError(
        .invalidKey, path: path, "key file \(path) holds an \(key.keyType) key; Codex identities are secp256k1")
    }
    return key
  }

  /// Writes `key` to a new file at `path` with mode 0600. Never overwrites an existing file.
  ///
  /// - Throws: ``NodeKeyFileError`` `.alreadyExists`, `.io`.
  public static func create(at path: String, key: PrivateKey) throws(NodeKeyFileError) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      let code = errno
      if code == EEXIST { throw NodeKeyFileError(.alreadyExists, path: path, "key file \(path) already exists") }
      throw NodeKeyFileError(.io, path: path, "cannot create key file \(path): \(describe(code))")
    }
    var failure: NodeKeyFileError?
    if fchmod(descriptor, 0o600) != 0 {
      failure = NodeKeyFileError(.io, path: path, "cannot chmod key file \(path): \(describe(errno))")
    }
    let bytes = key.protobufEncoded
    var written = 0
    while failure == nil && written < bytes.count {
      let count = bytes.withUnsafeBytes { raw in write(descriptor, raw.baseAddress! + written, raw.count - written) }
      if count < 0 {
        if errno == EINTR { continue }
        failure = NodeKeyFileError(.io, path: path, "cannot write key file \(path): \(describe(errno))")
      } else {
        written += count
      }
    }
    if failure == nil && fsync(descriptor) != 0 {
      failure = NodeKeyFileError(.io, path: path, "cannot sync key file \(path): \(describe(errno))")
    }
    close(descriptor)
    if let failure {
      unlink(path)
      throw failure
    }
  }

  private static func describe(_ code: Int32) -> String { OwnerOnlyFile.describe(errno: code) }

}
