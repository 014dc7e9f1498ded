import Foundation
import LibP2P
import Multiformats

/// A `--bootstrap-node` entry: the peer a node dials at start and the addresses to dial it at.
///
/// Takes nim-codex's form, a signed peer record (`spr:` + base64url), and the form `codex info` prints, a
/// multiaddr ending in `/p2p/<peer id>` (this node has no DHT yet, so the record's addresses must be TCP ones).
public struct BootstrapNode: Sendable, Equatable {
  public let peerID: PeerID
  public let addresses: [Multiaddr]

  /// - Throws: `NodeError.invalidInput` saying what is wrong with `text`.
  public init(text: String) throws(NodeError) {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("spr:") {
      do {
        let record = try SignedPeerRecord.open(text: trimmed)
        peerID = record.peerID
        addresses = record.record.addresses
      } catch {
        throw .invalidInput("--bootstrap-node: '\(trimmed.prefix(40))...' is not a valid spr: record (\(error))")
      }
      return
    }
    guard trimmed.hasPrefix("/") else {
      throw .invalidInput(
        "--bootstrap-node: '\(trimmed.prefix(80))' is neither an spr: record nor a multiaddr ending in /p2p/<peer id>"
          + " (`codex info` on that node prints one)")
    }
    let address: Multiaddr
    do { address = try Multiaddr(string: trimmed) } catch {
      throw .invalidInput("--bootstrap-node: '\(trimmed)' is not a valid multiaddr (\(error))")
    }
    guard let id = address.peerIDBytes, let peer = try? PeerID(bytes: id) else {
      throw .invalidInput("--bootstrap-node: '\(trimmed)' does not end in /p2p/<peer id>")
    }
    peerID = peer
    addresses = [address.withoutPeerID]
  }
}
