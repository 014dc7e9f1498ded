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

    /// Writes a wire-type-0 field.
    public mutating func writeVarint(field: UInt64, _ value: UInt64) {
      Varint.append(field << 3 | UInt64(WireType.varint.rawValue), to: &bytes)
      Varint.append(value, to: &bytes)
    }

    /// Writes a length-delimited field (bytes, string or nested message); empty values are written too.
    public mutating func writeBytes(field: UInt64, _ value: some Collection<UInt8>) {
      Varint.append(field << 3 | UInt64(WireType.lengthDelimited.rawValue), to: &bytes)
      Varint.append(UInt64(value.count), to: &bytes)
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
      do {
        let (value, length) = try Varint.decode(bytes[index...])
        index += length
        return value
      } catch {
        throw DecodeError("varint: \(error)")
      }
    }

    /// Reads a little-endian fixed-width value of `field` at the current position.
    private mutating func readFixed<T: FixedWidthInteger>(_: T.Type, field number: UInt64) throws(DecodeError) -> T {
      let size = MemoryLayout<T>.size
      guard buffer.endIndex - position >= size else {
        throw DecodeError("truncated fixed\(size * 8) field \(number)")
      }
      var value: T = 0
      for offset in 0..<size { value |= T(buffer[position + offset]) << (8 * offset) }
      position += size
      return value
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
        return Field(number: number, value: .fixed64(try readFixed(UInt64.self, field: number)))
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
        return Field(number: number, value: .fixed32(try readFixed(UInt32.self, field: number)))
      default:
        throw DecodeError("unsupported wire type \(key & 7) for field \(number)")
      }
    }
  }
}
