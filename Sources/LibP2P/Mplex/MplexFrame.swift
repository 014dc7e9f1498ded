import NIOCore

/// Why an mplex frame was rejected (the connection is then dropped).
public enum MplexError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A frame's data length exceeds the 1 MiB limit.
  case frameTooLarge(UInt64)
  /// A flag value above 6.
  case invalidFlag(UInt64)
  /// A varint in the header was malformed.
  case invalidHeader
  /// A stream id too large to represent.
  case invalidStreamID

  public var description: String {
    switch self {
    case .frameTooLarge(let n): return "mplex frame of \(n) bytes exceeds the 1 MiB limit"
    case .invalidFlag(let f): return "unknown mplex flag \(f)"
    case .invalidHeader: return "malformed mplex frame header"
    case .invalidStreamID: return "mplex stream id out of range"
    }
  }
}

/// One mplex frame: `varint(streamId << 3 | flag) ‖ varint(length) ‖ data`.
public struct MplexFrame: Sendable, Hashable {
  /// Frame flags. Odd flags come from the side that accepted the stream, even ones from its opener.
  public enum Flag: UInt8, Sendable, Hashable {
    case newStream = 0
    case messageReceiver = 1
    case messageInitiator = 2
    case closeReceiver = 3
    case closeInitiator = 4
    case resetReceiver = 5
    case resetInitiator = 6

    /// `true` when the frame refers to a stream opened by the frame's sender.
    public var senderOpenedStream: Bool { rawValue % 2 == 0 }
  }

  /// The mplex protocol id.
  public static let protocolID = "/mplex/6.7.0"
  /// nim-libp2p's `MaxMsgSize`: largest data length accepted in one frame.
  public static let maxDataLength = 1 << 20
  /// Chunk size for our own large writes (like nim: 1 MiB − 64).
  public static let writeChunkSize = (1 << 20) - 64

  public var streamID: UInt64
  public var flag: Flag
  public var data: ByteBuffer

  public init(streamID: UInt64, flag: Flag, data: ByteBuffer = ByteBuffer()) {
    self.streamID = streamID
    self.flag = flag
    self.data = data
  }

  /// Writes the frame header for `length` data bytes.
  public static func writeHeader(streamID: UInt64, flag: Flag, length: Int, into buffer: inout ByteBuffer) {
    buffer.writeUVarint(streamID << 3 | UInt64(flag.rawValue))
    buffer.writeUVarint(UInt64(length))
  }

  /// Appends the whole frame to `buffer`.
  public func encode(into buffer: inout ByteBuffer) {
    Self.writeHeader(streamID: streamID, flag: flag, length: data.readableBytes, into: &buffer)
    var d = data
    buffer.writeBuffer(&d)
  }

  /// Decodes one frame from the front of `buffer`.
  ///
  /// - Returns: the frame (its data a slice of `buffer`), or `nil` if more bytes are needed (nothing consumed).
  /// - Throws: ``MplexError`` for an oversized frame, an unknown flag or a malformed varint.
  public static func decode(_ buffer: inout ByteBuffer, maxDataLength: Int = maxDataLength) throws(MplexError)
    -> MplexFrame?
  {
    var probe = buffer
    guard let header = try decodeHeader(&probe, maxDataLength: maxDataLength),
      let data = probe.readSlice(length: header.length)
    else { return nil }
    buffer = probe
    return MplexFrame(streamID: header.streamID, flag: header.flag, data: data)
  }

  /// Decodes one frame header (`varint(streamId << 3 | flag) ‖ varint(length)`) from the front of `buffer`.
  ///
  /// - Returns: the header, or `nil` if more bytes are needed (nothing consumed).
  /// - Throws: ``MplexError`` for an oversized frame, an unknown flag or a malformed varint.
  public static func decodeHeader(_ buffer: inout ByteBuffer, maxDataLength: Int = maxDataLength)
    throws(MplexError) -> (streamID: UInt64, flag: Flag, length: Int)?
  {
    var probe = buffer
    let header: UInt64?
    let length: UInt64?
    do {
      header = try probe.readUVarint()
      guard header != nil else { return nil }
      length = try probe.readUVarint()
    } catch { throw .invalidHeader }
    guard let header, let length else { return nil }
    let rawFlag = header & 7
    guard rawFlag <= 6, let flag = Flag(rawValue: UInt8(rawFlag)) else { throw .invalidFlag(rawFlag) }
    guard length <= UInt64(maxDataLength) else { throw .frameTooLarge(length) }
    buffer = probe
    return (header >> 3, flag, Int(length))
  }

}
