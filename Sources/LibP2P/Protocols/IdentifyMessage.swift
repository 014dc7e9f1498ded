/// The identify protobuf (`/ipfs/id/1.0.0`):
import Multiformats
/// `{1: publicKey, 2: repeated listenAddrs, 3: repeated protocols, 4: observedAddr, 5: protocolVersion,
///   6: agentVersion, 8: signedPeerRecord}`.
public struct IdentifyMessage: Sendable, Hashable {
  /// The sender's libp2p `PublicKey` protobuf.
  public var publicKey: [UInt8]?
  /// Binary multiaddrs the sender listens on.
  public var listenAddresses: [[UInt8]] = []
  /// Protocol ids the sender serves.
  public var protocols: [String] = []
  /// Binary multiaddr under which the sender sees the receiver.
  public var observedAddress: [UInt8]?
  public var protocolVersion: String?
  public var agentVersion: String?
  /// A signed envelope holding the sender's peer record.
  public var signedPeerRecord: [UInt8]?

  /// Longest identify message accepted (nim reads at most 64 KiB).
  public static let maxLength = 64 * 1024

  public init() {}

  /// The protobuf bytes (fields in number order; absent optionals omitted).
  public var encoded: [UInt8] {
    var w = MinProtobuf.Writer()
    if let publicKey { w.writeBytes(field: 1, publicKey) }
    for a in listenAddresses { w.writeBytes(field: 2, a) }
    for p in protocols { w.writeString(field: 3, p) }
    if let observedAddress { w.writeBytes(field: 4, observedAddress) }
    if let protocolVersion { w.writeString(field: 5, protocolVersion) }
    if let agentVersion { w.writeString(field: 6, agentVersion) }
    if let signedPeerRecord { w.writeBytes(field: 8, signedPeerRecord) }
    return w.bytes
  }

  /// Decodes the protobuf; unknown fields are skipped.
  ///
  /// - Throws: ``IdentifyError/malformed(_:)``.
  public init(decoding bytes: [UInt8]) throws(IdentifyError) {
    var reader = MinProtobuf.Reader(bytes)
    do {
      while let field = try reader.next() {
        guard let value = field.bytes else { continue }
        switch field.number {
        case 1: publicKey = value
        case 2: listenAddresses.append(value)
        case 3: protocols.append(try Self.string(value))
        case 4: observedAddress = value
        case 5: protocolVersion = try Self.string(value)
        case 6: agentVersion = try Self.string(value)
        case 8: signedPeerRecord = value
        default: continue
        }
      }
    } catch let error as IdentifyError {
      throw error
    } catch {
      throw .malformed("\(error)")
    }
  }

  private static func string(_ bytes: [UInt8]) throws(IdentifyError) -> String {
    guard let s = String(validating: bytes, as: UTF8.self) else { throw .malformed("string field is not UTF-8") }
    return s
  }
}

/// Why identify failed.
public enum IdentifyError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The message was not a valid identify protobuf.
  case malformed(String)
  /// The message was empty.
  case empty
  /// The message had no public key.
  case missingPublicKey
  /// The public key does not belong to the connection's peer.
  case peerMismatch(expected: String, actual: String)
  /// The remote does not serve identify (answered `na`).
  case notSupported

  public var description: String {
    switch self {
    case .malformed(let why): return "malformed identify message: \(why)"
    case .empty: return "empty identify message"
    case .missingPublicKey: return "identify message has no public key"
    case .peerMismatch(let e, let a): return "identify public key belongs to \(a), not the connected peer \(e)"
    case .notSupported: return "remote does not serve identify"
    }
  }
}
