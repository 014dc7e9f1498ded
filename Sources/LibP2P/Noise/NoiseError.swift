/// Why a Noise handshake or transport frame was rejected.
public enum NoiseError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A handshake message was shorter than its pattern requires.
  case truncatedMessage(expected: Int, got: Int)
  /// AEAD authentication failed (wrong key, tampered or replayed frame).
  case decryptionFailed
  /// The 64-bit nonce counter is exhausted.
  case nonceExhausted
  /// A handshake method was called in the wrong state.
  case invalidState(String)
  /// The handshake payload protobuf was malformed or incomplete.
  case invalidPayload(String)
  /// The identity signature over the static key did not verify.
  case invalidSignature
  /// The remote identity was not the peer we dialed.
  case peerIDMismatch(expected: String, actual: String)
  /// A frame larger than 65535 bytes was requested (internal) or a handshake message is too large.
  case frameTooLarge(Int)
  /// The handshake did not complete in time.
  case handshakeTimeout
  /// The remote's X25519 public key was invalid.
  case invalidKey

  public var description: String {
    switch self {
    case .truncatedMessage(let e, let g): return "Noise message too short: need \(e) bytes, got \(g)"
    case .decryptionFailed: return "Noise decryption failed (bad key or corrupted frame)"
    case .nonceExhausted: return "Noise nonce counter exhausted"
    case .invalidState(let s): return "Noise handshake in wrong state: \(s)"
    case .invalidPayload(let why): return "invalid Noise handshake payload: \(why)"
    case .invalidSignature: return "Noise identity signature does not verify against the static key"
    case .peerIDMismatch(let e, let a): return "remote peer is \(a), expected \(e)"
    case .frameTooLarge(let n): return "Noise frame of \(n) bytes exceeds 65535"
    case .handshakeTimeout: return "Noise handshake timed out"
    case .invalidKey: return "invalid X25519 public key"
    }
  }
}
