#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// Decodes the node's response bodies. Every function throws ``CodexClientError/invalidResponse(_:)`` on
/// malformed input and never traps.
public enum ResponseParser {
  /// `{"content": [DataItem, ...]}`; a missing `content` key means no items.
  public static func dataList(_ body: [UInt8]) throws(CodexClientError) -> [DataItem] {
    struct Listing: Decodable { var content: [DataItem]? }
    return try decode(Listing.self, body, what: "data list").content ?? []
  }

  /// A single `DataItem` (the body of `POST /data/{cid}/network` and `/network/manifest`).
  public static func dataItem(_ body: [UInt8]) throws(CodexClientError) -> DataItem {
    try decode(DataItem.self, body, what: "data item")
  }

  /// `{"totalBlocks", "quotaMaxBytes", "quotaUsedBytes", "quotaReservedBytes"}`.
  public static func space(_ body: [UInt8]) throws(CodexClientError) -> SpaceInfo {
    try decode(SpaceInfo.self, body, what: "space")
  }

  /// `GET /data/{cid}/network/download`: a background download's state and block counts.
  public static func downloadStatus(_ body: [UInt8]) throws(CodexClientError) -> DownloadStatus {
    try decode(DownloadStatus.self, body, what: "download status")
  }

  /// `GET /debug/info`: the node's peer id, addresses, repo and version.
  public static func nodeInfo(_ body: [UInt8]) throws(CodexClientError) -> NodeInfo {
    try decode(NodeInfo.self, body, what: "node info")
  }

  /// `GET /data/{cid}/exists`: the implementation's `{"<cid>": bool}`, or openapi's `{"has": bool}`.
  public static func exists(_ body: [UInt8], cid: String) throws(CodexClientError) -> Bool {
    let map = try decode([String: Bool].self, body, what: "exists")
    if let value = map[cid] { return value }
    if let value = map["has"] { return value }
    if map.count == 1, let value = map.values.first { return value }
    throw .invalidResponse("exists answer has no entry for \(cid)")
  }

  /// The text body of `POST /data`: one CID, surrounding whitespace ignored. Must be non-empty, one line,
  /// base58/base32 characters only (multibase text).
  public static func uploadedCID(_ body: [UInt8]) throws(CodexClientError) -> String {
    guard let text = String(validating: body, as: UTF8.self) else {
      throw .invalidResponse("upload answer is not UTF-8 text")
    }
    let cid = text.trimmingWhitespace()
    guard !cid.isEmpty else { throw .invalidResponse("upload answer is empty") }
    guard cid.count <= 512, cid.unicodeScalars.allSatisfy({ $0.isASCII && isCIDCharacter(UInt8($0.value)) })
    else {
      throw .invalidResponse("upload answer is not a CID: '\(String(cid.prefix(80)))'")
    }
    return cid
  }

  /// An error body as text (invalid UTF-8 is repaired; long bodies are cut to 2000 characters).
  public static func errorMessage(_ body: [UInt8]) -> String {
    let text = String(decoding: body, as: UTF8.self).trimmingWhitespace()
    return text.count > 2000 ? String(text.prefix(2000)) + "..." : text
  }

  static func isCIDCharacter(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
      || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
  }

  static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8], what: String) throws(CodexClientError) -> T {
    do {
      return try JSONDecoder().decode(T.self, from: Data(body))
    } catch let error as DecodingError {
      throw .invalidResponse("\(what): \(describe(error))")
    } catch {
      throw .invalidResponse("\(what): \(error)")
    }
  }

  static func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
      return p.isEmpty ? "" : " at \(p)"
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)'\(path(context))"
    case .typeMismatch(_, let context): return "wrong type\(path(context)): \(context.debugDescription)"
    case .valueNotFound(_, let context): return "null value\(path(context))"
    case .dataCorrupted(let context): return "invalid JSON\(path(context)): \(context.debugDescription)"
    @unknown default: return "\(error)"
    }
  }
}
