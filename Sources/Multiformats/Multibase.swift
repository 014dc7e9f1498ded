/// Multibase: a one-character prefix that names the base of the text that follows.
public enum Multibase: Character, Sendable, CaseIterable {
  case base58btc = "z"
  case base32 = "b"
  case base64url = "u"

  /// Encodes bytes in this base, with the prefix.
  public func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    switch self {
    case .base58btc: return "z" + Base58.encode(bytes)
    case .base32: return "b" + Base32.encode(bytes)
    case .base64url: return "u" + Base64URL.encode(bytes)
    }
  }

  /// Decodes prefixed multibase text.
  /// - Throws: `.empty` for empty text, `.unsupportedMultibase` for an unknown prefix, or the base's error.
  public static func decode(_ text: some StringProtocol) throws(MultiformatsError) -> (base: Multibase, bytes: [UInt8]) {
    guard let first = text.first else { throw .empty }
    guard let base = Multibase(rawValue: first) else { throw .unsupportedMultibase(first) }
    let body = text.dropFirst()
    switch base {
    case .base58btc: return (base, try Base58.decode(body))
    case .base32: return (base, try Base32.decode(body))
    case .base64url: return (base, try Base64URL.decode(body))
    }
  }
}
