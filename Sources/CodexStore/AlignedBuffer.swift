#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Memory from `posix_memalign` (so direct I/O can read into it), freed with the last reference. The pack reads
/// hand out spans of it; whoever holds a span keeps its buffer alive.
final class AlignedBuffer: @unchecked Sendable {
  /// The first byte.
  let base: UnsafeMutableRawPointer
  /// Bytes allocated.
  let count: Int

  /// - Throws: `StoreError.io` when the memory cannot be had.
  init(count: Int, alignment: Int) throws(StoreError) {
    var raw: UnsafeMutableRawPointer?
    guard posix_memalign(&raw, alignment, max(count, 1)) == 0, let raw else {
      throw .io("cannot allocate \(count) bytes")
    }
    base = raw
    self.count = count
  }

  /// A buffer holding a copy of `bytes`.
  convenience init(copying bytes: [UInt8]) throws(StoreError) {
    try self.init(count: bytes.count, alignment: 16)
    bytes.withUnsafeBytes { b in
      if let from = b.baseAddress { base.copyMemory(from: from, byteCount: b.count) }
    }
  }

  /// Bytes `offset..<offset + length`.
  func span(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: base + offset, count: length)
  }

  deinit { free(base) }
}
