/// The libp2p Noise handshake payload: `{1: identity_key, 2: identity_sig, 3: data, 4: extensions}`.
import Multiformats
///
/// `identity_sig = sign(identity key, "noise-libp2p-static-key:" ‖ X25519 static public key)`.
/// Only fields 1 and 2 are written (like nim-libp2p); early data and extensions are ignored on input.
public struct NoiseHandshakePayload: Sendable, Hashable {
  /// The libp2p `PublicKey` protobuf of the identity key.
  public var identityKey: [UInt8]
  /// The signature over the static-key statement.
  public var identitySignature: [UInt8]

  /// The prefix signed together with the static key.
  public static let signaturePrefix = Array("noise-libp2p-static-key:".utf8)
  /// Largest payload accepted (it must fit in one Noise message).
  public static let maxEncodedLength = 65535

  public init(identityKey: [UInt8], identitySignature: [UInt8]) {
    self.identityKey = identityKey
    self.identitySignature = identitySignature
  }

  /// Builds and signs the payload for `staticKey` with `identity`.
  public init(signing staticKey: [UInt8], with identity: PrivateKey) throws {
    self.identityKey = identity.publicKey.protobufEncoded
    self.identitySignature = try identity.sign(Self.signaturePrefix + staticKey)
  }

  /// The protobuf bytes.
  public var encoded: [UInt8] {
    var w = MinProtobuf.Writer()
    w.writeBytes(field: 1, identityKey)
    w.writeBytes(field: 2, identitySignature)
    return w.bytes
  }

  /// Decodes the protobuf; unknown fields and fields 3/4 are skipped.
  ///
  /// - Throws: ``NoiseError/invalidPayload(_:)`` when it is malformed or lacks the key or signature.
  public init(decoding bytes: [UInt8]) throws(NoiseError) {
    var reader = MinProtobuf.Reader(bytes)
    var key: [UInt8]?
    var sig: [UInt8]?
    do {
      while let field = try reader.next() {
        switch field.number {
        case 1: key = field.bytes
        case 2: sig = field.bytes
        default: continue
        }
      }
    } catch { throw .invalidPayload(error.description) }
    guard let key, !key.isEmpty else { throw .invalidPayload("missing identity key") }
    guard let sig, !sig.isEmpty else { throw .invalidPayload("missing identity signature") }
    identityKey = key
    identitySignature = sig
  }

  /// Verifies the signature over `staticKey` and returns the remote identity.
  ///
  /// - Throws: ``NoiseError/invalidPayload(_:)`` for an undecodable key, ``NoiseError/invalidSignature``.
  public func verify(staticKey: [UInt8]) throws(NoiseError) -> (PublicKey, PeerID) {
    let key: PublicKey
    do { key = try PublicKey(protobufEncoded: identityKey) } catch {
      throw .invalidPayload("identity key: \(error)")
    }
    guard key.verify(signature: identitySignature, for: Self.signaturePrefix + staticKey) else {
      throw .invalidSignature
    }
    return (key, PeerID(publicKey: key))
  }
}
