import LibP2P
import Multiformats
import NIOCore

/// Receives what an `ExchangeNetwork` hears. The engine implements it. Calls for one stream arrive in order and are
/// awaited, so a slow handler back-pressures that stream.
public protocol ExchangeNetworkHandler: Sendable {
  /// A peer that may speak block exchange is now reachable.
  func peerConnected(_ peer: PeerID) async
  /// The last connection to `peer` closed.
  func peerDisconnected(_ peer: PeerID) async
  /// A decoded message from `peer`.
  func received(_ message: Message, from peer: PeerID) async
  /// A message from `peer` failed to decode (the stream it came on has been closed).
  func receivedMalformed(from peer: PeerID, error: MessageError) async
}

/// The transport the block-exchange engine talks through. `LibP2PExchangeNetwork` runs it over a libp2p host
/// (`/codex/blockexc/1.0.0`); `InMemoryExchangeNetwork` wires engines in one process for deterministic tests.
public protocol ExchangeNetwork: Sendable {
  /// This node's peer id.
  var localPeer: PeerID { get }
  /// Starts delivering events to `handler`. Called once.
  func start(handler: any ExchangeNetworkHandler) async throws
  /// Stops listening and sending; pending sends fail.
  func stop() async
  /// Sends one message to a connected peer; returns when it was handed to the transport.
  /// - Throws: `ExchangeError.notConnected` when there is no connection, transport errors otherwise.
  func send(_ message: Message, to peer: PeerID) async throws
  /// Sends one message already framed for the wire (`varint(length) ‖ Message`, as `DeliveryMessageBuilder` makes
  /// it); returns when it was handed to the transport. The default decodes it and calls `send(_:to:)`.
  /// - Throws: as `send(_:to:)`, and `MessageError` for a frame that does not hold exactly one message.
  func send(framed frame: ByteBuffer, to peer: PeerID) async throws
  /// Connects to a provider found by discovery (no-op when already connected).
  func connect(_ provider: ProviderInfo) async throws
  /// Closes the connection to `peer` (used to evict unresponsive or misbehaving peers).
  func disconnect(_ peer: PeerID) async
}

extension ExchangeNetwork {
  public func send(framed frame: ByteBuffer, to peer: PeerID) async throws {
    try await send(Message(encoded: MessageFraming.body(of: frame)), to: peer)
  }
}
