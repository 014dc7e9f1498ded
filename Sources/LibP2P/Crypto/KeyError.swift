/// Why a key, a signature or a key protobuf was rejected.
///
/// Every key-related decoder in `LibP2P` throws this type; it never traps on bad input.
public struct KeyError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The kind of failure, for programmatic handling.
  public enum Code: Sendable, Hashable {
    /// The bytes are not a well-formed `PublicKey` / `PrivateKey` protobuf.
    case malformedProtobuf
    /// The key type is unknown or not supported for this operation.
    case unsupportedKeyType
    /// The key material has the wrong length or is not a valid key for its curve.
    case invalidKey
    /// A signature could not be produced.
    case signingFailed
    /// An ECDH computation failed (invalid point or scalar).
    case keyAgreementFailed
  }

  /// The kind of failure.
  public var code: Code
  /// A sentence a person can act on.
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "KeyError.\(code): \(message)" }
}
