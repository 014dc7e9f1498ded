import Multiformats

/// Writes protobuf the way nim-libp2p's minprotobuf does (`formats.md` §2): fields in call order, every scalar
/// and bytes field written even when zero or empty, repeated fields one tag per element, no zig-zag.
///
/// Written by hand rather than with swift-protobuf because the bytes are hashed into CIDs and must follow these
/// rules exactly.
public struct ProtobufWriter: Sendable {
  /// The encoded bytes so far.
  public private(set) var bytes: [UInt8] = []

  public init() {}

  /// Writes a varint field (wire type 0).
  public mutating func write(_ field: UInt64, varint value: UInt64) {
    Varint.append(field << 3, to: &bytes)
    Varint.append(value, to: &bytes)
  }

  /// Writes a length-delimited field (wire type 2).
  public mutating func write(_ field: UInt64, bytes value: some Collection<UInt8>) {
    Varint.append(field << 3 | 2, to: &bytes)
    Varint.append(UInt64(value.count), to: &bytes)
    bytes.append(contentsOf: value)
  }

  /// Writes a nested message as a length-delimited field.
  public mutating func write(_ field: UInt64, message: ProtobufWriter) {
    write(field, bytes: message.bytes)
  }

  /// Writes a fixed 64-bit field (wire type 1), little-endian.
  public mutating func write(_ field: UInt64, fixed64 value: UInt64) {
    Varint.append(field << 3 | 1, to: &bytes)
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  /// Writes a fixed 32-bit field (wire type 5), little-endian.
  public mutating func write(_ field: UInt64, fixed32 value: UInt32) {
    Varint.append(field << 3 | 5, to: &bytes)
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }
}
