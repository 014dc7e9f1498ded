import Multiformats
import NIOCore

/// Configuration of a libp2p ``P2PHost``.
public struct HostConfiguration: Sendable {
  /// The identity key (secp256k1 for Codex compatibility).
  public var identity: PrivateKey
  /// Where to listen; default `/ip4/0.0.0.0/tcp/0` (random port).
  public var listenAddresses: [Multiaddr]
  /// Addresses announced in identify and the signed peer record instead of the bound ones (nil: bound ones).
  public var announceAddresses: [Multiaddr]?
  /// Muxers in order of preference. Codex peers speak only mplex, so mplex comes first; yamux is the
  /// fallback for go-libp2p and others.
  public var muxers: [String] = [MplexFrame.protocolID, YamuxHeader.protocolID]
  /// Stream limits and buffer sizes.
  public var muxerConfiguration = MuxerConfiguration()
  /// Sent in identify (`--agent-string` of Codex).
  public var agentVersion = "swift-codex"
  /// Sent in identify.
  public var protocolVersion = Identify.defaultProtocolVersion
  /// Maximum simultaneous connections (Codex `--max-peers`, default 160).
  public var maxConnections = 160
  /// Close connections that had no open stream for this long (nil: never).
  public var idleTimeout: TimeAmount? = nil
  /// Noise handshake deadline (nim: 1 minute).
  public var handshakeTimeout: TimeAmount = .minutes(1)
  /// Whole upgrade deadline (TCP connected → muxer ready) (nim: 30 s for inbound).
  public var upgradeTimeout: TimeAmount = .seconds(30)
  /// Run identify on every new connection.
  public var identifyOnConnect = true
  /// Serve `/ipfs/ping/1.0.0` (Codex does not; py/go peers do).
  public var enablePing = true
  /// Serve `/ipfs/id/push/1.0.0`.
  public var enableIdentifyPush = true
  /// Send `/ipfs/id/push/1.0.0` to every connected peer when our protocols or listen addresses change
  /// (peers that do not serve it, like nim-codex, answer `na`; that is ignored).
  public var sendIdentifyPush = true
  /// Changes within this delay are sent in one push.
  public var identifyPushDelay: Duration = .milliseconds(100)

  /// A configuration with `identity` and the default listen address.
  public init(identity: PrivateKey, listenAddresses: [Multiaddr]? = nil) {
    self.identity = identity
    self.listenAddresses = listenAddresses ?? [try! Multiaddr(string: "/ip4/0.0.0.0/tcp/0")]
  }
}
