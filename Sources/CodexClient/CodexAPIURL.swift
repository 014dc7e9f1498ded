/// The base URL of a Codex node's REST API (`<origin>/api/codex/v1`) and the URLs of its endpoints.
///
/// Accepts `http://host:port`, `host:port` (http is assumed), with or without a trailing slash, and URLs that
/// already end in `/api/codex/v1`. Only `http` and `https` are accepted.
public struct CodexAPIURL: Sendable, Equatable, CustomStringConvertible {
  /// The default node address, as used by `codex --api-port 8080`.
  public static let defaultOrigin = "http://127.0.0.1:8080"
  /// The environment variable a client reads when `--api` is not given.
  public static let environmentVariable = "CODEX_API_URL"
  /// The REST API's path prefix.
  public static let basePath = "/api/codex/v1"

  /// `scheme://host[:port]` with no trailing slash.
  public let origin: String
  /// Any path the user gave before `/api/codex/v1` (e.g. behind a reverse proxy), without a trailing slash.
  public let prefix: String

  /// Parses a user-supplied API address.
  /// - Throws: `CodexClientError.invalidAPIURL` for empty text, unsupported schemes, a missing host,
  ///   a bad port, or query/fragment parts.
  public init(_ text: String) throws(CodexClientError) {
    let trimmed = text.trimmingWhitespace()
    guard !trimmed.isEmpty else { throw .invalidAPIURL(text, reason: "empty") }
    var rest = Substring(trimmed)
    var scheme = "http"
    if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
      scheme = rest[..<colon].lowercased()
      rest = rest[rest.index(colon, offsetBy: 3)...]
    }
    guard scheme == "http" || scheme == "https" else {
      throw .invalidAPIURL(text, reason: "unsupported scheme '\(scheme)', use http or https")
    }
    guard !rest.contains("?"), !rest.contains("#") else {
      throw .invalidAPIURL(text, reason: "query strings and fragments are not allowed")
    }
    guard !rest.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) else {
      throw .invalidAPIURL(text, reason: "contains whitespace")
    }
    let authority: Substring
    var path: Substring
    if let slash = rest.firstIndex(of: "/") {
      authority = rest[..<slash]
      path = rest[slash...]
    } else {
      authority = rest
      path = ""
    }
    guard !authority.isEmpty, !authority.contains("@") else {
      throw .invalidAPIURL(text, reason: authority.isEmpty ? "missing host" : "credentials are not supported")
    }
    // host, [v6]:port, host:port
    var hostPart = authority
    var portPart: Substring? = nil
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else { throw .invalidAPIURL(text, reason: "unclosed '['") }
      hostPart = authority[...close]
      let after = authority[authority.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { throw .invalidAPIURL(text, reason: "bad text after IPv6 address") }
        portPart = after.dropFirst()
      }
    } else if let colon = authority.lastIndex(of: ":") {
      hostPart = authority[..<colon]
      portPart = authority[authority.index(after: colon)...]
    }
    guard !hostPart.isEmpty, hostPart != "[]" else { throw .invalidAPIURL(text, reason: "missing host") }
    if let portPart {
      guard let port = Int(portPart), (1...65535).contains(port) else {
        throw .invalidAPIURL(text, reason: "bad port '\(portPart)'")
      }
    }
    while path.hasSuffix("/") { path = path.dropLast() }
    if path.hasSuffix(Self.basePath) { path = path.dropLast(Self.basePath.count) }
    self.origin = "\(scheme)://\(authority.lowercased())"
    self.prefix = String(path)
  }

  /// Chooses the API address: the `--api` flag if given, else `CODEX_API_URL` if set and non-empty, else
  /// ``defaultOrigin``.
  public static func resolve(flag: String?, environment: [String: String]) throws(CodexClientError) -> CodexAPIURL {
    if let flag { return try CodexAPIURL(flag) }
    if let env = environment[environmentVariable], !env.trimmingWhitespace().isEmpty {
      return try CodexAPIURL(env)
    }
    return try CodexAPIURL(defaultOrigin)
  }

  /// `<origin><prefix>/api/codex/v1`.
  public var base: String { origin + prefix + Self.basePath }

  public var description: String { base }

  /// The full URL of an endpoint.
  public func url(_ endpoint: CodexEndpoint) -> String { base + endpoint.path }
}

/// The REST endpoints the client uses, relative to the API base.
public enum CodexEndpoint: Sendable, Equatable {
  /// `/data` (GET lists, POST uploads).
  case data
  /// `/data/{cid}` (GET downloads local data, DELETE deletes).
  case dataItem(cid: String)
  /// `/data/{cid}/exists`.
  case exists(cid: String)
  /// `/data/{cid}/network` (POST starts a background download).
  case network(cid: String)
  /// `/data/{cid}/network/stream` (GET streams, fetching from the network).
  case networkStream(cid: String)
  /// `/data/{cid}/network/manifest`.
  case networkManifest(cid: String)
  /// `/data/{cid}/network/download` (GET: the progress of a background download).
  case networkDownload(cid: String)
  /// `/space`.
  case space
  /// `/debug/info` (peer id, listen and announce addresses, repo, version).
  case debugInfo
  /// `/connect/{peerId}?addrs=...` (GET dials the peer at the given multiaddrs).
  case connect(peerID: String, addresses: [String])

  /// The path below the API base, with the CID percent-encoded as one path segment.
  public var path: String {
    switch self {
    case .data: return "/data"
    case .dataItem(let cid): return "/data/\(Self.segment(cid))"
    case .exists(let cid): return "/data/\(Self.segment(cid))/exists"
    case .network(let cid): return "/data/\(Self.segment(cid))/network"
    case .networkStream(let cid): return "/data/\(Self.segment(cid))/network/stream"
    case .networkManifest(let cid): return "/data/\(Self.segment(cid))/network/manifest"
    case .networkDownload(let cid): return "/data/\(Self.segment(cid))/network/download"
    case .space: return "/space"
    case .debugInfo: return "/debug/info"
    case .connect(let peer, let addresses):
      let query = addresses.map { "addrs=\(Self.segment($0))" }.joined(separator: "&")
      return "/connect/\(Self.segment(peer))" + (query.isEmpty ? "" : "?" + query)
    }
  }

  /// Percent-encodes everything but RFC 3986 unreserved characters.
  static func segment(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    let hex: [Character] = Array("0123456789ABCDEF")
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"):
        out.append(Character(Unicode.Scalar(byte)))
      default:
        out.append("%")
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0xF)])
      }
    }
    return out
  }
}
