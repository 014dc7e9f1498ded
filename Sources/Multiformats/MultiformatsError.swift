/// Why a multiformats value could not be decoded.
///
/// Every decoder in this module throws one of these for malformed input; none of them traps.
public enum MultiformatsError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The input ended before the value was complete.
  case truncated(String)
  /// A varint was longer than 9 bytes, overflowed 64 bits, or was not minimally encoded.
  case invalidVarint(String)
  /// A character is not part of the alphabet of the named base.
  case invalidCharacter(base: String, character: Character)
  /// A multibase prefix this implementation does not know.
  case unsupportedMultibase(Character)
  /// A multicodec that is not accepted in this position.
  case unsupportedCodec(UInt64)
  /// A CID version other than 1 (Codex never produces CIDv0).
  case unsupportedVersion(UInt64)
  /// A multihash whose digest length disagrees with its code or with the bytes present.
  case invalidMultihash(String)
  /// Bytes left over after a complete value.
  case trailingBytes(Int)
  /// Empty input where a value was required.
  case empty

  public var description: String {
    switch self {
    case .truncated(let what): return "input ended early while reading \(what)"
    case .invalidVarint(let why): return "invalid varint: \(why)"
    case .invalidCharacter(let base, let c): return "character '\(c)' is not valid \(base)"
    case .unsupportedMultibase(let c): return "unsupported multibase prefix '\(c)'"
    case .unsupportedCodec(let code): return "unsupported multicodec 0x\(String(code, radix: 16))"
    case .unsupportedVersion(let v): return "unsupported CID version \(v) (only CIDv1 is accepted)"
    case .invalidMultihash(let why): return "invalid multihash: \(why)"
    case .trailingBytes(let n): return "\(n) unexpected trailing byte(s)"
    case .empty: return "empty input"
    }
  }
}
