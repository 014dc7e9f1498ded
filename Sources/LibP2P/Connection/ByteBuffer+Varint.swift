import NIOCore

/// Why a varint could not be read from a `ByteBuffer`.
public struct VarintReadError: Error, Sendable, Hashable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "invalid varint: \(message)" }
}

extension ByteBuffer {
  /// Reads an unsigned LEB128 varint.
  ///
  /// - Returns: the value, or `nil` when the buffer ends inside the varint (the reader index is then unchanged).
  /// - Throws: ``VarintReadError`` when the varint is longer than 10 bytes or overflows 64 bits.
  @inlinable
  public mutating func readUVarint() throws(VarintReadError) -> UInt64? {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    var index = readerIndex
    let end = writerIndex
    while index < end {
      let byte = getInteger(at: index, as: UInt8.self)!
      index += 1
      if shift == 63 && byte > 1 { throw VarintReadError("value exceeds 64 bits") }
      result |= UInt64(byte & 0x7f) << shift
      if byte & 0x80 == 0 {
        moveReaderIndex(to: index)
        return result
      }
      shift += 7
      if shift > 63 { throw VarintReadError("longer than 10 bytes") }
    }
    return nil
  }

  /// Writes `value` as an unsigned LEB128 varint and returns the number of bytes written.
  @inlinable
  @discardableResult
  public mutating func writeUVarint(_ value: UInt64) -> Int {
    var v = value
    var n = 0
    while v >= 0x80 {
      writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
      n += 1
    }
    writeInteger(UInt8(v))
    return n + 1
  }
}
