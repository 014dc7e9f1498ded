/// Unsigned LEB128 varints as used by protobuf and multiformats (7 bits per byte, low group first).
public enum Varint {
  /// The largest number of bytes a 64-bit varint may take.
  public static let maxLength = 10

  /// Encodes `value` as a varint.
  @inlinable
  public static func encode(_ value: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(encodedLength(value))
    append(value, to: &out)
    return out
  }

  /// Appends the varint encoding of `value` to `buffer`.
  @inlinable
  public static func append(_ value: UInt64, to buffer: inout [UInt8]) {
    var v = value
    while v >= 0x80 {
      buffer.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    buffer.append(UInt8(v))
  }

  /// The number of bytes `encode(value)` produces.
  @inlinable
  public static func encodedLength(_ value: UInt64) -> Int {
    var n = 1
    var v = value >> 7
    while v != 0 {
      n += 1
      v >>= 7
    }
    return n
  }

  /// Decodes a varint from the start of `bytes`.
  ///
  /// - Returns: the value and how many bytes it occupied.
  /// - Throws: `MultiformatsError.truncated` when the bytes end inside the varint,
  ///   `.invalidVarint` when it overflows 64 bits.
  @inlinable
  public static func decode<C: Collection>(_ bytes: C) throws(MultiformatsError) -> (value: UInt64, length: Int)
  where C.Element == UInt8 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    var count = 0
    for byte in bytes {
      count += 1
      if shift == 63 && byte > 1 {
        throw .invalidVarint("value exceeds 64 bits")
      }
      result |= UInt64(byte & 0x7f) << shift
      if byte & 0x80 == 0 {
        return (result, count)
      }
      shift += 7
      if shift > 63 {
        throw .invalidVarint("longer than \(maxLength) bytes")
      }
    }
    throw .truncated("varint")
  }
}
