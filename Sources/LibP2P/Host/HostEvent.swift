/// Something that happened to a ``P2PHost``'s connections.
public enum HostEvent: Sendable {
  /// A connection finished its upgrade (Noise + muxer).
  case connected(P2PConnection)
  /// A connection closed.
  case disconnected(ConnectionInfo)
  /// Identify with a peer succeeded.
  case identified(IdentifyInfo)
}
