/// A multiaddr: a self-describing network address such as `/ip4/127.0.0.1/tcp/8070/p2p/16Uiu2HA…`.
///
/// Binary form (`libp2p.md` §3): repeated `varint(protocol code) ‖ address bytes`. Supported protocols:
/// ip4, ip6, ip6zone, tcp, udp, dns, dns4, dns6, dnsaddr, p2p (alias ipfs), p2p-circuit, tls, sni, noise,
/// quic, quic-v1, webtransport, webrtc-direct, webrtc, http, ws, wss. Unknown protocols are rejected
/// (their value size cannot be known).
///
/// Both decoders are total: malformed input throws ``MultiaddrError``.
public struct Multiaddr: Sendable, Hashable, CustomStringConvertible {
  /// Upper bound on accepted binary and text input, far above any real address.
  public static let maxEncodedLength = 1024

  /// The steps of the address, outermost first.
  public let components: [Component]

  /// Builds an address from components.
  public init(components: [Component]) {
    self.components = components
  }

  /// Decodes the binary form; the whole input must be consumed.
  public init(bytes: some Collection<UInt8>) throws(MultiaddrError) {
    let input = Array(bytes)
    guard !input.isEmpty else { throw MultiaddrError("empty binary multiaddr") }
    guard input.count <= Self.maxEncodedLength else {
      throw MultiaddrError("binary multiaddr of \(input.count) bytes exceeds \(Self.maxEncodedLength)")
    }
    var components: [Component] = []
    var index = 0
    func varint() throws(MultiaddrError) -> UInt64 {
      do {
        let (value, length) = try Varint.decode(input[index...])
        guard length == Varint.encodedLength(value) else {
          throw MultiformatsError.invalidVarint("not minimally encoded")
        }
        index += length
        return value
      } catch {
        throw MultiaddrError("bad varint at byte \(index): \(error)")
      }
    }
    while index < input.count {
      let code = try varint()
      guard let entry = Component.valueKind(code: code) else {
        throw MultiaddrError("unknown protocol code \(code) at byte \(index)")
      }
      let (name, kind) = (entry.name, entry.kind)
      let length: Int
      switch kind {
      case .none: length = 0
      case .fixed(let size): length = size
      case .lengthPrefixed:
        let declared = try varint()
        guard declared <= UInt64(input.count - index) else {
          throw MultiaddrError("/\(name) value length \(declared) exceeds the remaining \(input.count - index) bytes")
        }
        length = Int(declared)
      }
      guard input.count - index >= length else {
        throw MultiaddrError("/\(name) needs \(length) bytes, only \(input.count - index) left")
      }
      components.append(try Component.make(code: code, value: Array(input[index..<index + length])))
      index += length
    }
    self.components = components
  }

  /// Parses the text form (`/ip4/1.2.3.4/tcp/80`). A trailing `/` is tolerated; empty segments are not.
  public init(string: some StringProtocol) throws(MultiaddrError) {
    guard string.utf8.count <= Self.maxEncodedLength else {
      throw MultiaddrError("multiaddr text exceeds \(Self.maxEncodedLength) bytes")
    }
    guard string.first == "/" else { throw MultiaddrError("'\(string)' must start with '/'") }
    var parts = string.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    if parts.count > 1, parts.last?.isEmpty == true { parts.removeLast() }
    guard !(parts.count == 1 && parts[0].isEmpty) else { throw MultiaddrError("empty multiaddr '/'") }
    var components: [Component] = []
    var index = 0
    while index < parts.count {
      let name = parts[index]
      guard let code = Component.code(forName: name), let kind = Component.valueKind(code: code)?.kind else {
        throw MultiaddrError("unknown protocol '\(name)' in '\(string)'")
      }
      index += 1
      if case .none = kind {
        components.append(try Component.make(code: code, value: []))
        continue
      }
      guard index < parts.count, !parts[index].isEmpty else {
        throw MultiaddrError("/\(name) needs a value in '\(string)'")
      }
      components.append(try Component.make(code: code, text: Substring(parts[index])))
      index += 1
    }
    self.components = components
  }

  /// The binary form.
  public var bytes: [UInt8] { components.flatMap(\.bytes) }

  /// The canonical text form (`/ip6/` per RFC 5952, `/p2p/` rather than `/ipfs/`).
  public var description: String { components.map(\.description).joined() }

  /// The first IPv4 address, if any.
  public var ip4: IPv4Address? {
    for case .ip4(let address) in components { return address }
    return nil
  }

  /// The first IPv6 address, if any.
  public var ip6: IPv6Address? {
    for case .ip6(let address) in components { return address }
    return nil
  }

  /// The first TCP port, if any.
  public var tcpPort: UInt16? {
    for case .tcp(let port) in components { return port }
    return nil
  }

  /// The first UDP port, if any.
  public var udpPort: UInt16? {
    for case .udp(let port) in components { return port }
    return nil
  }

  /// The binary multihash of the last `/p2p/` component, if any.
  public var peerIDBytes: [UInt8]? {
    for component in components.reversed() {
      if case .p2p(let multihash) = component { return multihash }
    }
    return nil
  }

  /// This address followed by `other`'s components.
  public func appending(_ other: Multiaddr) -> Multiaddr { Multiaddr(components: components + other.components) }

  /// This address followed by one more component.
  public func appending(_ component: Component) -> Multiaddr { Multiaddr(components: components + [component]) }

  /// This address without a trailing `/p2p/…` component (unchanged if there is none).
  public var withoutPeerID: Multiaddr {
    guard case .p2p = components.last else { return self }
    return Multiaddr(components: Array(components.dropLast()))
  }
}
