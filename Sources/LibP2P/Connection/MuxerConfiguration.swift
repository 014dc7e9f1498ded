import NIOCore

/// Limits shared by the stream multiplexers.
public struct MuxerConfiguration: Sendable, Hashable {
  /// Streams the remote may have open at once; further opens are reset (nim: 200 for mplex).
  public var maxInboundStreams: Int = 200
  /// Streams this side may have open at once.
  public var maxOutboundStreams: Int = 1024
  /// mplex: unread bytes buffered per stream before the connection stops reading from the socket.
  public var maxBufferedPerStream: Int = 4 << 20
  /// Unread bytes all streams of one connection may buffer together before the connection stops reading from
  /// the socket (see `ConnectionReadGate`): without it a peer could fill hundreds of streams to their own limits.
  public var maxBufferedPerConnection: Int = 32 << 20
  /// yamux: receive window this side grants per stream (at least 256 KiB); it also bounds what one stream
  /// buffers when its reader stalls. 8 MiB keeps a single loopback stream above 1 GB/s (go-libp2p grows its
  /// windows up to 16 MiB).
  public var yamuxReceiveWindow: UInt32 = 8 << 20
  /// A stream with no data in either direction for this long is reset (nim-libp2p: 5 minutes, Codex passes
  /// 5 minutes for inbound and outbound mplex channels); nil: never. Checked every quarter of the timeout, so a
  /// stream is reset between 1 and 1.25 times the timeout after its last data.
  public var streamInactivityTimeout: TimeAmount? = .minutes(5)

  public init() {}
}

/// Called on the event loop when the remote opens a stream.
typealias InboundStreamHandler = (P2PStream) -> Void
