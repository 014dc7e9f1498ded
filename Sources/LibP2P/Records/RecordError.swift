/// Why a signed envelope, a peer record or an `spr:` text was rejected.
public struct RecordError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The kind of failure, for programmatic handling.
  public enum Code: Sendable, Hashable {
    /// The envelope protobuf is malformed or misses a field.
    case malformedEnvelope
    /// The envelope's public key cannot be decoded.
    case invalidPublicKey
    /// The signature does not verify for the envelope's key and domain.
    case invalidSignature
    /// The payload type is not the one expected (`03 01` for peer records).
    case wrongPayloadType
    /// The peer-record protobuf is malformed or misses its peer id.
    case malformedRecord
    /// The record's peer id is not the envelope key's peer id.
    case peerIDMismatch
    /// The `spr:` text form is malformed.
    case invalidText
    /// A signature could not be produced.
    case signingFailed
  }

  /// The kind of failure.
  public var code: Code
  /// A sentence a person can act on.
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "RecordError.\(code): \(message)" }
}
