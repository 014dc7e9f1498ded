extension Multiaddr {
  /// One `/protocol/value` step of a multiaddr.
  ///
  /// Binary form: `varint(code) ‖ value`, where the value is fixed-size (ip4, ip6, tcp, udp),
  /// `varint(length) ‖ bytes` (dns*, p2p, sni, ip6zone) or absent (quic, ws, …).
  public enum Component: Sendable, Hashable, CustomStringConvertible {
    case ip4(IPv4Address)
    case ip6(IPv6Address)
    /// IPv6 zone (interface) name.
    case ip6zone(String)
    case tcp(UInt16)
    case udp(UInt16)
    case dns(String)
    case dns4(String)
    case dns6(String)
    case dnsaddr(String)
    /// A libp2p peer id: the binary multihash (text: base58btc; `/ipfs/` accepted as an alias).
    case p2p([UInt8])
    case p2pCircuit
    case tls
    case sni(String)
    case noise
    case quic
    case quicV1
    case webtransport
    case webrtcDirect
    case webrtc
    case http
    case ws
    case wss

    /// The multicodec protocol code.
    public var code: UInt64 {
      switch self {
      case .ip4: 4
      case .tcp: 6
      case .ip6: 41
      case .ip6zone: 42
      case .dns: 53
      case .dns4: 54
      case .dns6: 55
      case .dnsaddr: 56
      case .udp: 273
      case .webrtcDirect: 280
      case .webrtc: 281
      case .p2pCircuit: 290
      case .p2p: 421
      case .tls: 448
      case .sni: 449
      case .noise: 454
      case .quic: 460
      case .quicV1: 461
      case .webtransport: 465
      case .ws: 477
      case .wss: 478
      case .http: 480
      }
    }

    /// The protocol name used in text form.
    public var protocolName: String {
      switch self {
      case .ip4: "ip4"
      case .ip6: "ip6"
      case .ip6zone: "ip6zone"
      case .tcp: "tcp"
      case .udp: "udp"
      case .dns: "dns"
      case .dns4: "dns4"
      case .dns6: "dns6"
      case .dnsaddr: "dnsaddr"
      case .p2p: "p2p"
      case .p2pCircuit: "p2p-circuit"
      case .tls: "tls"
      case .sni: "sni"
      case .noise: "noise"
      case .quic: "quic"
      case .quicV1: "quic-v1"
      case .webtransport: "webtransport"
      case .webrtcDirect: "webrtc-direct"
      case .webrtc: "webrtc"
      case .http: "http"
      case .ws: "ws"
      case .wss: "wss"
      }
    }

    enum ValueKind { case none, fixed(Int), lengthPrefixed }

    static func valueKind(code: UInt64) -> (name: String, kind: ValueKind)? {
      switch code {
      case 4: ("ip4", .fixed(4))
      case 6: ("tcp", .fixed(2))
      case 41: ("ip6", .fixed(16))
      case 42: ("ip6zone", .lengthPrefixed)
      case 53: ("dns", .lengthPrefixed)
      case 54: ("dns4", .lengthPrefixed)
      case 55: ("dns6", .lengthPrefixed)
      case 56: ("dnsaddr", .lengthPrefixed)
      case 273: ("udp", .fixed(2))
      case 280: ("webrtc-direct", .none)
      case 281: ("webrtc", .none)
      case 290: ("p2p-circuit", .none)
      case 421: ("p2p", .lengthPrefixed)
      case 448: ("tls", .none)
      case 449: ("sni", .lengthPrefixed)
      case 454: ("noise", .none)
      case 460: ("quic", .none)
      case 461: ("quic-v1", .none)
      case 465: ("webtransport", .none)
      case 477: ("ws", .none)
      case 478: ("wss", .none)
      case 480: ("http", .none)
      default: nil
      }
    }

    static func code(forName name: some StringProtocol) -> UInt64? {
      switch name {
      case "ip4": 4
      case "tcp": 6
      case "ip6": 41
      case "ip6zone": 42
      case "dns": 53
      case "dns4": 54
      case "dns6": 55
      case "dnsaddr": 56
      case "udp": 273
      case "webrtc-direct": 280
      case "webrtc": 281
      case "p2p-circuit": 290
      case "p2p", "ipfs": 421
      case "tls": 448
      case "sni": 449
      case "noise": 454
      case "quic": 460
      case "quic-v1": 461
      case "webtransport": 465
      case "ws": 477
      case "wss": 478
      case "http": 480
      default: nil
      }
    }

    /// The value bytes as they appear in binary form after the code (including a length prefix
    /// for variable-size values).
    var valueBytes: [UInt8] {
      func prefixed(_ bytes: [UInt8]) -> [UInt8] { Varint.encode(UInt64(bytes.count)) + bytes }
      switch self {
      case .ip4(let address): return address.bytes
      case .ip6(let address): return address.bytes
      case .tcp(let port), .udp(let port): return [UInt8(port >> 8), UInt8(port & 0xff)]
      case .ip6zone(let text), .dns(let text), .dns4(let text), .dns6(let text), .dnsaddr(let text), .sni(let text):
        return prefixed(Array(text.utf8))
      case .p2p(let multihash): return prefixed(multihash)
      case .p2pCircuit, .tls, .noise, .quic, .quicV1, .webtransport, .webrtcDirect, .webrtc, .http, .ws, .wss:
        return []
      }
    }

    /// The binary form `varint(code) ‖ value`.
    public var bytes: [UInt8] { Varint.encode(code) + valueBytes }

    /// The value in text form, or `nil` for protocols without a value.
    public var valueText: String? {
      switch self {
      case .ip4(let address): address.description
      case .ip6(let address): address.description
      case .tcp(let port), .udp(let port): String(port)
      case .ip6zone(let text), .dns(let text), .dns4(let text), .dns6(let text), .dnsaddr(let text), .sni(let text):
        text
      case .p2p(let multihash): Base58.encode(multihash)
      case .p2pCircuit, .tls, .noise, .quic, .quicV1, .webtransport, .webrtcDirect, .webrtc, .http, .ws, .wss: nil
      }
    }

    /// Text form: `/name` or `/name/value`.
    public var description: String {
      guard let value = valueText else { return "/" + protocolName }
      return "/" + protocolName + "/" + value
    }

    /// Builds a component from its code and raw value bytes (without length prefix), validating the value.
    static func make(code: UInt64, value: [UInt8]) throws(MultiaddrError) -> Component {
      func text(_ name: String) throws(MultiaddrError) -> String {
        guard !value.isEmpty, let string = String(validating: value, as: UTF8.self), !string.contains("/") else {
          throw MultiaddrError("/\(name) value must be non-empty UTF-8 without '/'")
        }
        return string
      }
      switch code {
      case 4: return .ip4(try IPv4Address(bytes: value))
      case 41: return .ip6(try IPv6Address(bytes: value))
      case 6, 273:
        guard value.count == 2 else { throw MultiaddrError("a port is 2 bytes, got \(value.count)") }
        let port = UInt16(value[0]) << 8 | UInt16(value[1])
        return code == 6 ? .tcp(port) : .udp(port)
      case 42: return .ip6zone(try text("ip6zone"))
      case 53: return .dns(try text("dns"))
      case 54: return .dns4(try text("dns4"))
      case 55: return .dns6(try text("dns6"))
      case 56: return .dnsaddr(try text("dnsaddr"))
      case 449: return .sni(try text("sni"))
      case 421:
        do {
          _ = try Multihash(bytes: value)
        } catch {
          throw MultiaddrError("/p2p value is not a multihash: \(error)")
        }
        return .p2p(value)
      case 280: return .webrtcDirect
      case 281: return .webrtc
      case 290: return .p2pCircuit
      case 448: return .tls
      case 454: return .noise
      case 460: return .quic
      case 461: return .quicV1
      case 465: return .webtransport
      case 477: return .ws
      case 478: return .wss
      case 480: return .http
      default: throw MultiaddrError("unknown protocol code \(code)")
      }
    }

    /// Parses the text value of protocol `code`.
    static func make(code: UInt64, text: Substring) throws(MultiaddrError) -> Component {
      switch code {
      case 4: return .ip4(try IPv4Address(string: text))
      case 41: return .ip6(try IPv6Address(string: text))
      case 6, 273:
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count <= 5, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
          let port = UInt16(text)
        else { throw MultiaddrError("'\(text)' is not a port number (0...65535)") }
        return code == 6 ? .tcp(port) : .udp(port)
      case 421:
        let decoded: [UInt8]
        do {
          decoded = try Base58.decode(text)
        } catch {
          throw MultiaddrError("/p2p value '\(text)' is not base58btc: \(error)")
        }
        return try make(code: code, value: decoded)
      default:
        return try make(code: code, value: Array(text.utf8))
      }
    }
  }
}
