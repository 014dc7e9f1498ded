import NIOCore

/// Why a yamux frame or session was rejected (the connection is then dropped after a go-away).
public enum YamuxError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A version other than 0.
  case invalidVersion(UInt8)
  /// A frame type other than data, window update, ping or go-away.
  case invalidType(UInt8)
  /// A data frame larger than the receive window we granted.
  case windowExceeded(stream: UInt32, length: UInt32, window: UInt32)
  /// A data frame larger than the absolute cap.
  case frameTooLarge(UInt32)
  /// A stream id with the wrong parity for a new stream, or a reused id.
  case invalidStreamID(UInt32)
  /// The remote sent go-away; no new streams.
  case goAway(UInt32)

  public var description: String {
    switch self {
    case .invalidVersion(let v): return "yamux version \(v) is not 0"
    case .invalidType(let t): return "unknown yamux frame type \(t)"
    case .windowExceeded(let s, let l, let w): return "yamux stream \(s) sent \(l) bytes with only \(w) bytes of window"
    case .frameTooLarge(let n): return "yamux data frame of \(n) bytes exceeds the limit"
    case .invalidStreamID(let id): return "invalid yamux stream id \(id)"
    case .goAway(let code): return "remote sent yamux go-away (code \(code))"
    }
  }
}

/// A yamux frame header: `version(0) ‖ type ‖ flags(u16) ‖ stream id(u32) ‖ length(u32)`, big-endian.
public struct YamuxHeader: Sendable, Hashable {
  public enum FrameType: UInt8, Sendable {
    case data = 0
    case windowUpdate = 1
    case ping = 2
    case goAway = 3
  }

  /// Flag bits.
  public struct Flags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let syn = Flags(rawValue: 1)
    public static let ack = Flags(rawValue: 2)
    public static let fin = Flags(rawValue: 4)
    public static let rst = Flags(rawValue: 8)
  }

  /// The yamux protocol id.
  public static let protocolID = "/yamux/1.0.0"
  /// Header size in bytes.
  public static let length = 12
  /// The initial per-stream window of the yamux specification.
  public static let initialWindow: UInt32 = 256 * 1024
  /// Largest data frame accepted regardless of window (16 MiB).
  public static let maxDataLength: UInt32 = 16 << 20
  /// Go-away codes.
  public static let goAwayNormal: UInt32 = 0
  public static let goAwayProtocolError: UInt32 = 1
  public static let goAwayInternalError: UInt32 = 2

  public var type: FrameType
  public var flags: Flags
  public var streamID: UInt32
  /// Data length, window delta, ping value or go-away code, depending on `type`.
  public var length: UInt32

  public init(type: FrameType, flags: Flags, streamID: UInt32, length: UInt32) {
    self.type = type
    self.flags = flags
    self.streamID = streamID
    self.length = length
  }

  public func encode(into buffer: inout ByteBuffer) {
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(type.rawValue)
    buffer.writeInteger(flags.rawValue)
    buffer.writeInteger(streamID)
    buffer.writeInteger(length)
  }

  /// Decodes a header from the front of `buffer`; `nil` if fewer than 12 bytes (nothing consumed).
  ///
  /// - Throws: ``YamuxError`` for a bad version, type or oversized data frame.
  public static func decode(_ buffer: inout ByteBuffer) throws(YamuxError) -> YamuxHeader? {
    guard buffer.readableBytes >= length else { return nil }
    let base = buffer.readerIndex
    let version = buffer.getInteger(at: base, as: UInt8.self)!
    guard version == 0 else { throw .invalidVersion(version) }
    let rawType = buffer.getInteger(at: base + 1, as: UInt8.self)!
    guard let type = FrameType(rawValue: rawType) else { throw .invalidType(rawType) }
    let flags = Flags(rawValue: buffer.getInteger(at: base + 2, as: UInt16.self)!)
    let streamID = buffer.getInteger(at: base + 4, as: UInt32.self)!
    let len = buffer.getInteger(at: base + 8, as: UInt32.self)!
    if type == .data && len > maxDataLength { throw .frameTooLarge(len) }
    buffer.moveReaderIndex(forwardBy: length)
    return YamuxHeader(type: type, flags: flags, streamID: streamID, length: len)
  }
}

/// A whole yamux frame (header plus data for data frames).
public struct YamuxFrame: Sendable, Hashable {
  public var header: YamuxHeader
  public var data: ByteBuffer

  public init(header: YamuxHeader, data: ByteBuffer = ByteBuffer()) {
    self.header = header
    self.data = data
  }

  /// Decodes one frame; `nil` if incomplete (nothing consumed).
  public static func decode(_ buffer: inout ByteBuffer) throws(YamuxError) -> YamuxFrame? {
    var probe = buffer
    guard let header = try YamuxHeader.decode(&probe) else { return nil }
    if header.type == .data {
      guard let data = probe.readSlice(length: Int(header.length)) else { return nil }
      buffer = probe
      return YamuxFrame(header: header, data: data)
    }
    buffer = probe
    return YamuxFrame(header: header)
  }

  public func encode(into buffer: inout ByteBuffer) {
    header.encode(into: &buffer)
    if header.type == .data {
      var d = data
      buffer.writeBuffer(&d)
    }
  }
}
