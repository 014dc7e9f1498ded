import Multiformats
import NIOCore

extension Multiaddr {
  /// The TCP endpoint of an `/ip4|ip6/<addr>/tcp/<port>` multiaddr.
  ///
  /// - Throws: ``HostError/unsupportedAddress(_:)`` for anything else (DNS, UDP, …).
  func tcpSocketAddress() throws -> SocketAddress {
    guard let port = tcpPort else { throw HostError.unsupportedAddress(description) }
    if let ip4 = ip4 {
      return try SocketAddress(ipAddress: ip4.description, port: Int(port))
    }
    if let ip6 = ip6 {
      return try SocketAddress(ipAddress: ip6.description, port: Int(port))
    }
    throw HostError.unsupportedAddress(description)
  }

  /// `/ip4|ip6/<addr>/tcp/<port>` for a socket address (nil for Unix sockets).
  static func tcp(_ address: SocketAddress) -> Multiaddr? {
    guard let ip = address.ipAddress, let port = address.port else { return nil }
    switch address {
    case .v4: return try? Multiaddr(string: "/ip4/\(ip)/tcp/\(port)")
    case .v6: return try? Multiaddr(string: "/ip6/\(ip)/tcp/\(port)")
    default: return nil
    }
  }
}
