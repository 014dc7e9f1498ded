/// Why a multiaddr (binary or text) was rejected. Every multiaddr decoder throws this; none traps.
public struct MultiaddrError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A sentence a person can act on, naming the offending part.
  public var message: String

  public init(_ message: String) { self.message = message }

  public var description: String { "invalid multiaddr: \(message)" }
}
