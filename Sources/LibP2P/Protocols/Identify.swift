import Multiformats
import NIOCore

/// What identify told us about a peer, after validation.
public struct IdentifyInfo: Sendable, Hashable {
  /// The peer (equal to the connection's authenticated peer).
  public var peerID: PeerID
  /// The peer's identity key.
  public var publicKey: PublicKey
  /// Addresses the peer says it listens on (undecodable ones are dropped).
  public var listenAddresses: [Multiaddr]
  /// Protocols the peer serves.
  public var protocols: [String]
  /// How the peer sees us.
  public var observedAddress: Multiaddr?
  public var protocolVersion: String?
  public var agentVersion: String?
  /// The verified signed peer record, if one was sent and it verified.
  public var signedPeerRecord: SignedPeerRecord?
  /// Why a sent signed peer record was rejected (nil when absent or valid).
  public var signedPeerRecordError: String?
}

/// The identify protocol (`/ipfs/id/1.0.0`) and identify-push (`/ipfs/id/push/1.0.0`).
public enum Identify {
  public static let protocolID = "/ipfs/id/1.0.0"
  public static let pushProtocolID = "/ipfs/id/push/1.0.0"
  /// The libp2p protocol version string Codex sends.
  public static let defaultProtocolVersion = "ipfs/0.1.0"

  /// Responder: writes one length-prefixed message and half-closes.
  public static func serve(_ message: IdentifyMessage, on stream: P2PStream) async throws {
    try await stream.writeLengthPrefixed(ByteBuffer(bytes: message.encoded))
    try await stream.closeWrite()
  }

  /// Requester: reads one length-prefixed message (≤ 64 KiB) and validates it against the stream's peer.
  ///
  /// - Throws: ``IdentifyError`` for an empty or invalid message, a missing key or another peer's key;
  ///   ``StreamError`` for stream failures.
  public static func read(from stream: P2PStream) async throws -> IdentifyInfo {
    guard let body = try await stream.readLengthPrefixed(maxLength: IdentifyMessage.maxLength) else {
      throw IdentifyError.empty
    }
    return try validate(Array(body.readableBytesView), peer: stream.connection.remotePeer)
  }

  /// Decodes and validates identify bytes for `peer`.
  public static func validate(_ bytes: [UInt8], peer: PeerID) throws(IdentifyError) -> IdentifyInfo {
    guard !bytes.isEmpty else { throw .empty }
    let message = try IdentifyMessage(decoding: bytes)
    guard let keyBytes = message.publicKey else { throw .missingPublicKey }
    let key: PublicKey
    do { key = try PublicKey(protobufEncoded: keyBytes) } catch { throw .malformed("public key: \(error)") }
    let keyPeer = PeerID(publicKey: key)
    guard keyPeer == peer else { throw .peerMismatch(expected: peer.description, actual: keyPeer.description) }
    var record: SignedPeerRecord?
    var recordError: String?
    if let spr = message.signedPeerRecord {
      do {
        let opened = try SignedPeerRecord.open(spr)
        if opened.peerID == peer {
          record = opened
        } else {
          recordError = "signed peer record is for \(opened.peerID), not \(peer)"
        }
      } catch {
        recordError = error.description
      }
    }
    return IdentifyInfo(
      peerID: peer, publicKey: key,
      listenAddresses: message.listenAddresses.compactMap { try? Multiaddr(bytes: $0) },
      protocols: message.protocols,
      observedAddress: message.observedAddress.flatMap { try? Multiaddr(bytes: $0) },
      protocolVersion: message.protocolVersion, agentVersion: message.agentVersion,
      signedPeerRecord: record, signedPeerRecordError: recordError)
  }
}
