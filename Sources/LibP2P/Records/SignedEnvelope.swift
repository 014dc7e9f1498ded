/// A libp2p signed envelope (`libp2p.md` §4, nim-libp2p `signed_envelope.nim`):
import Multiformats
///
/// ```
/// Envelope { 1: bytes public_key (PublicKey protobuf); 2: bytes payload_type; 3: bytes payload; 5: bytes signature }
/// signature = sign(key, varint(len D) ‖ D ‖ varint(len T) ‖ T ‖ varint(len P) ‖ P)
/// ```
///
/// ``bytes`` are the exact bytes the envelope was decoded from (or produced by ``seal(payload:payloadType:domain:key:)``),
/// so a received envelope can be stored and relayed byte for byte.
public struct SignedEnvelope: Sendable, Hashable {
  /// The signer's public key.
  public let publicKey: PublicKey
  /// The payload type (a multicodec, as bytes; `03 01` for peer records).
  public let payloadType: [UInt8]
  /// The signed payload.
  public let payload: [UInt8]
  /// The signature over ``signingInput(domain:payloadType:payload:)``.
  public let signature: [UInt8]
  /// The encoded envelope.
  public let bytes: [UInt8]

  /// The bytes that are signed: `varint(len D) ‖ D ‖ varint(len T) ‖ T ‖ varint(len P) ‖ P`.
  public static func signingInput(domain: String, payloadType: [UInt8], payload: [UInt8]) -> [UInt8] {
    let domainBytes = Array(domain.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(domainBytes.count + payloadType.count + payload.count + 12)
    for part in [domainBytes, payloadType, payload] {
      Varint.append(UInt64(part.count), to: &out)
      out += part
    }
    return out
  }

  /// Signs `payload` with `key` under `domain` and encodes the envelope (fields 1, 2, 3, 5 in that order).
  ///
  /// - Throws: ``RecordError`` `.signingFailed`.
  public static func seal(
    payload: [UInt8], payloadType: [UInt8], domain: String, key: PrivateKey
  ) throws(RecordError) -> SignedEnvelope {
    let signature: [UInt8]
    do {
      signature = try key.sign(signingInput(domain: domain, payloadType: payloadType, payload: payload))
    } catch {
      throw RecordError(.signingFailed, "could not sign the envelope: \(error.message)")
    }
    var writer = MinProtobuf.Writer()
    writer.writeBytes(field: 1, key.publicKey.protobufEncoded)
    writer.writeBytes(field: 2, payloadType)
    writer.writeBytes(field: 3, payload)
    writer.writeBytes(field: 5, signature)
    return SignedEnvelope(
      publicKey: key.publicKey, payloadType: payloadType, payload: payload, signature: signature, bytes: writer.bytes)
  }

  private init(publicKey: PublicKey, payloadType: [UInt8], payload: [UInt8], signature: [UInt8], bytes: [UInt8]) {
    self.publicKey = publicKey
    self.payloadType = payloadType
    self.payload = payload
    self.signature = signature
    self.bytes = bytes
  }

  /// Decodes an envelope **without** checking its signature (see ``open(_:domain:)``).
  ///
  /// - Throws: ``RecordError`` `.malformedEnvelope` or `.invalidPublicKey`.
  public init(decoding bytes: [UInt8]) throws(RecordError) {
    var reader = MinProtobuf.Reader(bytes)
    var keyBytes: [UInt8]?
    var payloadType: [UInt8]?
    var payload: [UInt8]?
    var signature: [UInt8]?
    do {
      while let field = try reader.next() {
        guard let value = field.bytes else { continue }
        switch field.number {
        case 1: keyBytes = value
        case 2: payloadType = value
        case 3: payload = value
        case 5: signature = value
        default: continue
        }
      }
    } catch {
      throw RecordError(.malformedEnvelope, "envelope protobuf: \(error.message)")
    }
    guard let keyBytes else { throw RecordError(.malformedEnvelope, "envelope has no public key (field 1)") }
    guard let payloadType else { throw RecordError(.malformedEnvelope, "envelope has no payload type (field 2)") }
    guard let payload else { throw RecordError(.malformedEnvelope, "envelope has no payload (field 3)") }
    guard let signature else { throw RecordError(.malformedEnvelope, "envelope has no signature (field 5)") }
    do {
      publicKey = try PublicKey(protobufEncoded: keyBytes)
    } catch {
      throw RecordError(.invalidPublicKey, "envelope public key: \(error.message)")
    }
    self.payloadType = payloadType
    self.payload = payload
    self.signature = signature
    self.bytes = bytes
  }

  /// Decodes an envelope and verifies its signature under `domain`.
  ///
  /// - Throws: ``RecordError``: decoding errors, or `.invalidSignature`.
  public static func open(_ bytes: [UInt8], domain: String) throws(RecordError) -> SignedEnvelope {
    let envelope = try SignedEnvelope(decoding: bytes)
    guard envelope.isValid(domain: domain) else {
      throw RecordError(.invalidSignature, "envelope signature does not verify for domain '\(domain)'")
    }
    return envelope
  }

  /// True if the signature verifies for ``publicKey`` under `domain`.
  public func isValid(domain: String) -> Bool {
    publicKey.verify(
      signature: signature, for: Self.signingInput(domain: domain, payloadType: payloadType, payload: payload))
  }
}
