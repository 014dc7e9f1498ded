/// Why bytes or text are not a libp2p peer id.
public struct PeerIDError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A sentence a person can act on.
  public var message: String

  public init(_ message: String) { self.message = message }

  public var description: String { "invalid peer id: \(message)" }
}
