/// Why a multistream-select negotiation failed.
public enum MultistreamError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A message's length prefix exceeds the limit (64 KiB).
  case messageTooLong(UInt64)
  /// A message did not end with `\n`.
  case missingNewline
  /// A message was empty (length 0).
  case emptyMessage
  /// A message was not valid UTF-8.
  case invalidUTF8
  /// The length prefix was not a valid varint.
  case invalidLength
  /// The first message was not `/multistream/1.0.0`.
  case unexpectedHeader(String)
  /// The remote refused every protocol we proposed.
  case noProtocolAccepted([String])
  /// The remote answered something other than our proposal or `na`.
  case unexpectedResponse(String)
  /// The connection or stream ended during negotiation.
  case endOfStream
  /// The remote proposed too many protocols without agreeing on one.
  case tooManyProposals

  public var description: String {
    switch self {
    case .messageTooLong(let n): return "multistream message of \(n) bytes exceeds the 64 KiB limit"
    case .missingNewline: return "multistream message does not end with a newline"
    case .emptyMessage: return "empty multistream message"
    case .invalidUTF8: return "multistream message is not UTF-8"
    case .invalidLength: return "multistream length prefix is not a valid varint"
    case .unexpectedHeader(let h): return "expected /multistream/1.0.0, got \(h.debugDescription)"
    case .noProtocolAccepted(let ps): return "remote refused all proposed protocols \(ps)"
    case .unexpectedResponse(let r): return "unexpected multistream response \(r.debugDescription)"
    case .endOfStream: return "stream ended during multistream negotiation"
    case .tooManyProposals: return "remote made too many multistream proposals"
    }
  }
}
