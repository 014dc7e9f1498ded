/// A minimal protobuf writer and reader following nim-libp2p's `minprotobuf` rules (`formats.md` §2):
/// fields are written in call order and always written (no default elision); decoders accept absent
/// fields, skip unknown fields and fields with an unexpected wire type, and keep the last occurrence
/// of a non-repeated field.
///
/// Shared by `LibP2P` (keys, envelopes, peer records, Noise handshake payload, identify) and `CodexFormats`
/// (whose `ProtobufReader` parses with ``Reader``).
public enum MinProtobuf {
  /// A malformed protobuf message.
  public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "protobuf decode error: \(message)" }
  }

  /// Protobuf wire types.
  public enum WireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5
  }

  /// A field value as read from the wire.
  public enum Value: Sendable, Hashable {
    case varint(UInt64)
    case fixed64(UInt64)
    case bytes(ArraySlice<UInt8>)
    case fixed32(UInt32)
  }

  /// One decoded field.
  public struct Field: Sendable, Hashable {
    public var number: UInt64
    public var value: Value

    /// The value when the field is length-delimited, else `nil`.
    public var bytes: [UInt8]? {
      if case .bytes(let slice) = value { return Array(slice) }
      return nil
    }

    /// The value when the field is a varint, else `nil`.
    public var varint: UInt64? {
      if case .varint(let value) = value { return value }
      return nil
    }
  }

  /// Appends fields to a byte buffer.
  public struct Writer: Sendable {
    /// The message written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Appends an unsigned LEB128 varint (up to 10 bytes).
    public static func appendVarint(_ value: UInt64, to buffer: inout [UInt8]) {
      var rest = value
      while rest >= 0x80 {
        buffer.append(UInt8(truncatingIfNeeded: rest) | 0x80)
        rest >>= 7
      }
      buffer.append(UInt8(rest))
    }

    /// Writes a wire-type-0 field.
    public mutating func writeVarint(field: UInt64, _ value: UInt64) {
      Self.appendVarint(field << 3 | UInt64(WireType.varint.rawValue), to: &bytes)
      Self.appendVarint(value, to: &bytes)
    }

    /// Writes a length-delimited field (bytes, string or nested message); empty values are written too.
    public mutating func writeBytes(field: UInt64, _ value: some Collection<UInt8>) {
      Self.appendVarint(field << 3 | UInt64(WireType.lengthDelimited.rawValue), to: &bytes)
      Self.appendVarint(UInt64(value.count), to: &bytes)
      bytes.append(contentsOf: value)
    }

    /// Writes a UTF-8 string field.
    public mutating func writeString(field: UInt64, _ value: String) {
      writeBytes(field: field, Array(value.utf8))
    }
  }

  /// Reads fields one after the other. Never traps; malformed input throws ``DecodeError``.
  public struct Reader: Sendable {
    private let buffer: ArraySlice<UInt8>
    private var position: Int

    public init(_ bytes: [UInt8]) {
      self.buffer = bytes[...]
      self.position = buffer.startIndex
    }

    public init(_ bytes: ArraySlice<UInt8>) {
      self.buffer = bytes
      self.position = bytes.startIndex
    }

    /// Reads an unsigned varint of at most 10 bytes from `bytes` at `index`, advancing `index`.
    public static func readVarint(_ bytes: ArraySlice<UInt8>, at index: inout Int) throws(DecodeError) -> UInt64 {
      var result: UInt64 = 0
      var shift: UInt64 = 0
      while true {
        guard index < bytes.endIndex else { throw DecodeError("truncated varint") }
        let byte = bytes[index]
        index += 1
        if shift == 63 && byte > 1 { throw DecodeError("varint overflows 64 bits") }
        result |= UInt64(byte & 0x7f) << shift
        if byte & 0x80 == 0 { return result }
        shift += 7
        if shift > 63 { throw DecodeError("varint longer than 10 bytes") }
      }
    }

    /// The next field, or `nil` at the end of the message.
    public mutating func next() throws(DecodeError) -> Field? {
      guard position < buffer.endIndex else { return nil }
      let key = try Self.readVarint(buffer, at: &position)
      let number = key >> 3
      guard number != 0 else { throw DecodeError("field number 0") }
      switch UInt8(key & 7) {
      case WireType.varint.rawValue:
        return Field(number: number, value: .varint(try Self.readVarint(buffer, at: &position)))
      case WireType.fixed64.rawValue:
        guard buffer.endIndex - position >= 8 else { throw DecodeError("truncated fixed64 field \(number)") }
        var value: UInt64 = 0
        for offset in 0..<8 { value |= UInt64(buffer[position + offset]) << (8 * UInt64(offset)) }
        position += 8
        return Field(number: number, value: .fixed64(value))
      case WireType.lengthDelimited.rawValue:
        let length = try Self.readVarint(buffer, at: &position)
        guard length <= UInt64(buffer.endIndex - position) else {
          throw DecodeError(
            "field \(number) length \(length) exceeds the remaining \(buffer.endIndex - position) bytes")
        }
        let end = position + Int(length)
        let slice = buffer[position..<end]
        position = end
        return Field(number: number, value: .bytes(slice))
      case WireType.fixed32.rawValue:
        guard buffer.endIndex - position >= 4 else { throw DecodeError("truncated fixed32 field \(number)") }
        var value: UInt32 = 0
        for offset in 0..<4 { value |= UInt32(buffer[position + offset]) << (8 * UInt32(offset)) }
        position += 4
        return Field(number: number, value: .fixed32(value))
      default:
        throw DecodeError("unsupported wire type \(key & 7) for field \(number)")
      }
    }
  }
}
