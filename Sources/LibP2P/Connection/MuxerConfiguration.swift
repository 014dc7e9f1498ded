/// Limits shared by the stream multiplexers.
public struct MuxerConfiguration: Sendable, Hashable {
  /// Streams the remote may have open at once; further opens are reset (nim: 200 for mplex).
  public var maxInboundStreams: Int = 200
  /// Streams this side may have open at once.
  public var maxOutboundStreams: Int = 1024
  /// mplex: unread bytes buffered per stream before the connection stops reading from the socket.
  public var maxBufferedPerStream: Int = 4 << 20
  /// yamux: receive window this side grants per stream (at least 256 KiB).
  public var yamuxReceiveWindow: UInt32 = 4 << 20

  public init() {}
}

/// Called on the event loop when the remote opens a stream.
typealias InboundStreamHandler = (P2PStream) -> Void
