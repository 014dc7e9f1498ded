import Multiformats

/// A verified peer record inside its signed envelope: the "SPR" of Codex and codex-dht.
///
/// Valid means (`libp2p.md` §4): the envelope signature verifies under domain `libp2p-peer-record`,
/// the payload type is `03 01`, and the record's peer id is the peer id of the envelope's key.
/// Every initializer enforces all three.
public struct SignedPeerRecord: Sendable, Hashable, CustomStringConvertible {
  /// The text-form prefix.
  public static let textPrefix = "spr:"

  /// The envelope exactly as received or produced.
  public let envelope: SignedEnvelope
  /// The decoded record.
  public let record: PeerRecord

  /// Signs `record` with `key`.
  ///
  /// - Throws: ``RecordError`` `.peerIDMismatch` if the record's peer id is not `key`'s, `.signingFailed`.
  public static func seal(_ record: PeerRecord, key: PrivateKey) throws(RecordError) -> SignedPeerRecord {
    guard record.peerID.matches(key.publicKey) else {
      throw RecordError(
        .peerIDMismatch, "record peer id \(record.peerID) is not the signing key's \(key.publicKey.peerID)")
    }
    let envelope = try SignedEnvelope.seal(
      payload: record.protobufEncoded, payloadType: PeerRecord.payloadType, domain: PeerRecord.domain, key: key)
    return SignedPeerRecord(envelope: envelope, record: record)
  }

  /// Convenience: a record for `key`'s peer id with `seq` and `addresses`, signed.
  public static func seal(key: PrivateKey, seq: UInt64, addresses: [Multiaddr]) throws(RecordError) -> SignedPeerRecord
  {
    try seal(PeerRecord(peerID: key.publicKey.peerID, seq: seq, addresses: addresses), key: key)
  }

  private init(envelope: SignedEnvelope, record: PeerRecord) {
    self.envelope = envelope
    self.record = record
  }

  /// Decodes and fully validates envelope bytes.
  ///
  /// - Throws: ``RecordError``.
  public static func open(_ bytes: [UInt8]) throws(RecordError) -> SignedPeerRecord {
    let envelope = try SignedEnvelope(decoding: bytes)
    guard envelope.payloadType == PeerRecord.payloadType else {
      throw RecordError(.wrongPayloadType, "payload type \(envelope.payloadType) is not a peer record (03 01)")
    }
    guard envelope.isValid(domain: PeerRecord.domain) else {
      throw RecordError(.invalidSignature, "peer record signature does not verify")
    }
    let record = try PeerRecord(protobufEncoded: envelope.payload)
    guard record.peerID.matches(envelope.publicKey) else {
      throw RecordError(
        .peerIDMismatch, "record peer id \(record.peerID) is not the envelope key's \(envelope.publicKey.peerID)")
    }
    return SignedPeerRecord(envelope: envelope, record: record)
  }

  /// Decodes and validates the text form `spr:<base64url of the envelope>` (padding and standard base64
  /// characters tolerated; surrounding whitespace trimmed).
  ///
  /// - Throws: ``RecordError``.
  public static func open(text: some StringProtocol) throws(RecordError) -> SignedPeerRecord {
    let trimmed = text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed()
    let string = String(trimmed)
    guard string.hasPrefix(textPrefix) else {
      throw RecordError(.invalidText, "signed peer record text must start with '\(textPrefix)'")
    }
    let body = string.dropFirst(textPrefix.count)
    guard !body.isEmpty, body.utf8.count <= 16384 else {
      throw RecordError(.invalidText, "signed peer record text must carry 1…16384 base64url characters")
    }
    let bytes: [UInt8]
    do {
      bytes = try Base64URL.decode(body)
    } catch {
      throw RecordError(.invalidText, "signed peer record text is not base64url: \(error)")
    }
    return try open(bytes)
  }

  /// The envelope bytes.
  public var bytes: [UInt8] { envelope.bytes }

  /// The signer's peer id (equal to ``record``'s).
  public var peerID: PeerID { record.peerID }

  /// The text form: `spr:` + base64url without padding.
  public var text: String { Self.textPrefix + Base64URL.encode(envelope.bytes, padded: false) }

  public var description: String { text }
}
