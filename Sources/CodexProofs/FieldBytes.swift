/// Conversion of byte strings to field elements for hashing (nim-poseidon2 `elements`): 31-byte little-endian
/// chunks, and a final chunk made of the remaining 0…30 bytes followed by the end-marker byte `0x01`.
///
/// An input whose length is a multiple of 31 therefore yields one extra element equal to 1, and the empty input
/// yields `[1]`. A 2048-byte cell yields 67 elements.
public enum FieldBytes {
  /// Bytes per full chunk.
  public static let chunkSize = 31

  /// Number of elements produced for an input of `byteCount` bytes.
  @inlinable
  public static func elementCount(byteCount: Int) -> Int { byteCount / chunkSize + 1 }

  /// The field elements of `bytes`.
  public static func elements(_ bytes: some Sequence<UInt8>) -> [Fr] {
    let array = Array(bytes)
    var out: [Fr] = []
    out.reserveCapacity(elementCount(byteCount: array.count))
    array.withUnsafeBytes { buf in forEachElement(buf) { out.append($0) } }
    return out
  }

  /// Calls `body` with each field element of `buf`, in order, without allocating.
  @inlinable
  public static func forEachElement(_ buf: UnsafeRawBufferPointer, _ body: (Fr) -> Void) {
    let n = buf.count
    let full = n / chunkSize
    var offset = 0
    for _ in 0..<full {
      body(readFullChunk(buf, offset))
      offset += chunkSize
    }
    // Remainder plus end marker.
    var limbs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    let rem = n - offset
    for i in 0...rem {
      let byte: UInt64 = i < rem ? UInt64(buf[offset + i]) : 1
      let v = byte << UInt64(8 * (i & 7))
      switch i >> 3 {
      case 0: limbs.0 |= v
      case 1: limbs.1 |= v
      case 2: limbs.2 |= v
      default: limbs.3 |= v
      }
    }
    body(Fr(reducedLimbs: limbs.0, limbs.1, limbs.2, limbs.3))
  }

  /// Reads the 31 bytes at `offset` (which must all be inside `buf`) as a little-endian integer.
  @inlinable @inline(__always)
  static func readFullChunk(_ buf: UnsafeRawBufferPointer, _ offset: Int) -> Fr {
    let l0 = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    let l1 = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
    let l2 = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
    // Bytes 23…30: drop byte 23 to keep bytes 24…30 without reading past the chunk.
    let l3 = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: offset + 23, as: UInt64.self)) >> 8
    return Fr(reducedLimbs: l0, l1, l2, l3)
  }
}
