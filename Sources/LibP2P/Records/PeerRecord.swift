import Multiformats

/// A libp2p peer record (`libp2p.md` §4, nim-libp2p `routing_record.nim`):
///
/// ```
/// PeerRecord { 1: bytes peer_id; 2: varint seq; 3: repeated AddressInfo { 1: bytes multiaddr } }
/// ```
///
/// Carried signed in a ``SignedEnvelope`` (see ``SignedPeerRecord``): in identify field 8 and in every
/// codex-dht record.
public struct PeerRecord: Sendable, Hashable {
  /// The envelope domain for peer records.
  public static let domain = "libp2p-peer-record"
  /// The envelope payload type for peer records (multicodec `libp2p-peer-record`, 0x0301).
  public static let payloadType: [UInt8] = [0x03, 0x01]

  /// The peer the record describes.
  public var peerID: PeerID
  /// Sequence number: nim-libp2p uses Unix seconds at creation; codex-dht increments it on every update.
  /// py-libp2p uses nanoseconds; any value is accepted.
  public var seq: UInt64
  /// The peer's addresses. nim writes them without `/p2p/…`; py-libp2p includes it; both decode.
  public var addresses: [Multiaddr]

  public init(peerID: PeerID, seq: UInt64, addresses: [Multiaddr]) {
    self.peerID = peerID
    self.seq = seq
    self.addresses = addresses
  }

  /// The protobuf payload (fields 1, 2, 3… in that order; seq always written).
  public var protobufEncoded: [UInt8] {
    var writer = MinProtobuf.Writer()
    writer.writeBytes(field: 1, peerID.bytes)
    writer.writeVarint(field: 2, seq)
    for address in addresses {
      var info = MinProtobuf.Writer()
      info.writeBytes(field: 1, address.bytes)
      writer.writeBytes(field: 3, info.bytes)
    }
    return writer.bytes
  }

  /// Decodes the protobuf payload. A missing `seq` reads as 0. Addresses that are not valid multiaddrs
  /// of a supported protocol are skipped (the signed bytes stay available in the envelope).
  ///
  /// - Throws: ``RecordError`` `.malformedRecord`.
  public init(protobufEncoded bytes: [UInt8]) throws(RecordError) {
    var reader = MinProtobuf.Reader(bytes)
    var peerIDBytes: [UInt8]?
    var seq: UInt64 = 0
    var addresses: [Multiaddr] = []
    do {
      while let field = try reader.next() {
        switch (field.number, field.value) {
        case (1, .bytes(let value)): peerIDBytes = Array(value)
        case (2, .varint(let value)): seq = value
        case (3, .bytes(let value)):
          var info = MinProtobuf.Reader(value)
          var addressBytes: [UInt8]?
          while let inner = try info.next() {
            if inner.number == 1, let value = inner.bytes { addressBytes = value }
          }
          if let addressBytes, let address = try? Multiaddr(bytes: addressBytes) { addresses.append(address) }
        default: continue
        }
      }
    } catch {
      throw RecordError(.malformedRecord, "peer record protobuf: \(error.message)")
    }
    guard let peerIDBytes else { throw RecordError(.malformedRecord, "peer record has no peer id (field 1)") }
    do {
      peerID = try PeerID(bytes: peerIDBytes)
    } catch {
      throw RecordError(.malformedRecord, "peer record: \(error.message)")
    }
    self.seq = seq
    self.addresses = addresses
  }
}
