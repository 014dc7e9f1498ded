import CodexFormats
import Multiformats

/// Why a block-exchange message could not be decoded or framed. Every decoder in this module throws this, never traps.
public enum MessageError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The protobuf bytes themselves are broken (bad varint, truncated field, bad wire type).
  case malformed(String)
  /// A CID field does not parse.
  case invalidCid(field: String, MultiformatsError)
  /// A field has a value outside its range (e.g. an unknown `wantType`).
  case invalidValue(field: String, String)
  /// A delivered block's bytes do not hash to its CID; the whole message is rejected, as nim-codex does.
  case hashMismatch(Cid)
  /// A delivered proof cannot be decoded.
  case invalidProof(String)
  /// A frame announces more bytes than allowed.
  case tooLarge(Int, limit: Int)

  public var description: String {
    switch self {
    case .malformed(let why): return "malformed block-exchange message: \(why)"
    case .invalidCid(let field, let e): return "invalid CID in \(field): \(e)"
    case .invalidValue(let field, let why): return "invalid value in \(field): \(why)"
    case .hashMismatch(let cid): return "delivered block does not hash to its CID \(cid)"
    case .invalidProof(let why): return "invalid proof in block delivery: \(why)"
    case .tooLarge(let n, let limit): return "block-exchange message of \(n) bytes exceeds the limit of \(limit)"
    }
  }

  static func wrap(_ e: FormatError) -> MessageError {
    switch e {
    case .malformedProtobuf(let why): return .malformed(why)
    default: return .malformed(e.description)
    }
  }
}

/// Parses `bytes` as a protobuf message, mapping errors to `MessageError`.
@inline(__always)
func readProtobuf(_ bytes: some Collection<UInt8>) throws(MessageError) -> ProtobufReader {
  do { return try ProtobufReader(bytes) } catch { throw MessageError.wrap(error) }
}

@inline(__always)
func parseCid(_ bytes: [UInt8], field: String) throws(MessageError) -> Cid {
  do { return try Cid(bytes: bytes) } catch { throw MessageError.invalidCid(field: field, error) }
}
