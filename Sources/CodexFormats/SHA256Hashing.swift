import Crypto

/// SHA-256 helpers over contiguous bytes (swift-crypto; BoringSSL uses the SHA extensions where the CPU has them).
public enum SHA256Hashing {
  /// SHA-256 of `bytes`.
  @inlinable
  public static func digest(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBytes { digest($0) }
  }

  /// SHA-256 of the raw buffer.
  @inlinable
  public static func digest(_ buffer: UnsafeRawBufferPointer) -> [UInt8] {
    var hasher = SHA256()
    hasher.update(bufferPointer: buffer)
    return hasher.finalize().withUnsafeBytes { Array($0) }
  }
}
