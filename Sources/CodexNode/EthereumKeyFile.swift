import CodexMarket
import LibP2P

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why the `--eth-private-key` file could not be used.
public struct EthereumKeyFileError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The kind of failure.
  public enum Code: Sendable, Hashable {
    /// Permission bits other than exactly 0600.
    case unsafePermissions
    /// No file at the path.
    case notFound
    /// Not a regular file.
    case wrongFileType
    /// The content is not 32 bytes of hex forming a valid secp256k1 secret.
    case invalidKey
    /// An operating-system call failed.
    case io
  }

  public var code: Code
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

/// The Ethereum account key file of `--eth-private-key` (`rest-and-cli.md` §5.1): hex text of a 32-byte secp256k1
/// secret, with or without `0x`, surrounding whitespace and a trailing newline allowed. Like nim-codex's
/// `checkSecureFile`, the file's permission bits must be exactly 0600; anything else is refused with the `chmod`
/// fix. The key is never written back or logged.
public enum EthereumKeyFile {
  /// Largest file accepted (64 hex digits plus `0x` and whitespace fit easily).
  static let maxSize = 1024

  /// Loads and checks the key at `path`.
  /// - Throws: `EthereumKeyFileError`.
  public static func load(at path: String) throws(EthereumKeyFileError) -> CodexMarket.PrivateKey {
    let bytes: [UInt8]
    do {
      bytes = try OwnerOnlyFile.contents(at: path, maxSize: maxSize)
    } catch {
      switch error {
      case .notFound:
        throw EthereumKeyFileError(.notFound, path: path, "Ethereum private-key file \(path) does not exist")
      case .wrongFileType:
        throw EthereumKeyFileError(
          .wrongFileType, path: path, "Ethereum private-key file \(path) is not a regular file")
      case .unsafePermissions(let mode):
        throw EthereumKeyFileError(
          .unsafePermissions, path: path,
          "Ethereum private-key file \(path) has unsafe permissions \(String(mode, radix: 8)): it must be 0600 "
            + "(read and write by its owner only); fix with `chmod 600 \(path)`")
      case .tooLarge:
        throw EthereumKeyFileError(
          .invalidKey, path: path, "Ethereum private-key file \(path) is too large to be a key")
      case .io(let operation, let code):
        throw EthereumKeyFileError(
          .io, path: path, "cannot \(operation) Ethereum private-key file \(path): errno \(code)")
      }
    }
    return try parse(bytes, path: path)
  }

  /// Parses the file's bytes: optional `0x`, 64 hex digits, optional surrounding whitespace.
  /// - Throws: `EthereumKeyFileError` `.invalidKey`.
  public static func parse(_ bytes: [UInt8], path: String) throws(EthereumKeyFileError) -> CodexMarket.PrivateKey {
    let invalid = EthereumKeyFileError(
      .invalidKey, path: path,
      "Ethereum private-key file \(path) does not hold a private key: expected 64 hex digits (optionally 0x-prefixed)")
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }
    var body = bytes[...]
    while let f = body.first, isSpace(f) { body = body.dropFirst() }
    while let l = body.last, isSpace(l) { body = body.dropLast() }
    if body.count >= 2, body[body.startIndex] == 0x30, body[body.startIndex + 1] | 0x20 == 0x78 {
      body = body.dropFirst(2)
    }
    guard body.count == 64 else { throw invalid }
    var secret = [UInt8](repeating: 0, count: 32)
    var i = 0
    for b in body {
      let v: UInt8
      switch b {
      case 0x30...0x39: v = b - 0x30
      case 0x61...0x66: v = b - 0x61 + 10
      case 0x41...0x46: v = b - 0x41 + 10
      default: throw invalid
      }
      secret[i / 2] = secret[i / 2] << 4 | v
      i += 1
    }
    do { return try CodexMarket.PrivateKey(bytes: secret) } catch {
      throw EthereumKeyFileError(
        .invalidKey, path: path, "Ethereum private-key file \(path) holds 32 bytes that are not a valid secp256k1 key")
    }
  }
}
