/// Why an operation on a ``P2PStream`` failed.
public enum StreamError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The remote reset the stream (mplex Reset / yamux RST).
  case reset
  /// The stream was reset or closed locally before the operation finished.
  case closed
  /// The whole connection went away.
  case connectionClosed
  /// A length-prefixed message was larger than the caller's limit.
  case messageTooLarge(Int, limit: Int)
  /// The stream ended in the middle of a message.
  case unexpectedEOF
  /// The remote opened more streams than allowed, or we hit our own stream limit.
  case tooManyStreams
  /// A varint prefix was malformed.
  case invalidVarint
  /// The stream saw no data in either direction for the muxer's stream inactivity timeout and was reset.
  case inactivityTimeout

  public var description: String {
    switch self {
    case .reset: return "stream reset by the remote peer"
    case .closed: return "stream already closed or reset locally"
    case .connectionClosed: return "connection closed"
    case .messageTooLarge(let n, let limit): return "message of \(n) bytes exceeds the limit of \(limit) bytes"
    case .unexpectedEOF: return "stream ended in the middle of a message"
    case .tooManyStreams: return "too many streams on this connection"
    case .invalidVarint: return "malformed varint length prefix"
    case .inactivityTimeout: return "stream reset after its inactivity timeout (no data in either direction)"
    }
  }
}
