/// Why a host operation failed.
public enum HostError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A multiaddr the TCP transport cannot use (needs `/ip4|ip6/…/tcp/…`).
  case unsupportedAddress(String)
  /// The connection limit (`maxConnections`) is reached.
  case tooManyConnections(Int)
  /// The host is not running (not started or shut down).
  case notRunning
  /// No connection to this peer and no address to dial.
  case notConnected(String)
  /// The connection upgrade (multistream, Noise, muxer) did not finish in time.
  case upgradeTimeout
  /// The peer to dial, or the one that answered at the address, is this host itself.
  case dialSelf

  public var description: String {
    switch self {
    case .unsupportedAddress(let a):
      return "unsupported address \(a): only /ip4 or /ip6 with /tcp can be dialed or listened on"
    case .tooManyConnections(let n): return "connection limit of \(n) reached"
    case .notRunning: return "host is not running"
    case .notConnected(let p): return "not connected to \(p)"
    case .upgradeTimeout: return "connection upgrade timed out"
    case .dialSelf: return "that is this node's own peer ID (a node does not connect to itself)"
    }
  }
}
