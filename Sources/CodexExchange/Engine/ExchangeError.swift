import LibP2P
import Multiformats

/// Why a block-exchange operation failed, with a message a person can act on.
public enum ExchangeError: Error, Sendable, Equatable, CustomStringConvertible {
  /// No peer delivered the block before the deadline.
  case timeout(BlockAddress, Duration, connectedPeers: Int)
  /// Every retry of the download loop passed without a peer having the block.
  case retriesExhausted(BlockAddress, Int)
  /// The peer is not connected.
  case notConnected(PeerID)
  /// The engine was stopped.
  case stopped
  /// A fetched block could not be stored locally.
  case storeFailed(BlockAddress, String)

  public var description: String {
    switch self {
    case .timeout(let a, let d, let n):
      return "block \(a) not found on the network: no peer delivered it within \(d) (\(n) peer(s) connected)"
    case .retriesExhausted(let a, let n):
      return "block \(a) not found on the network after \(n) retries (raise --block-retries or connect to a provider)"
    case .notConnected(let p): return "peer \(p) is not connected"
    case .stopped: return "the block exchange is stopped"
    case .storeFailed(let a, let why): return "block \(a) was fetched but could not be stored: \(why)"
    }
  }
}
