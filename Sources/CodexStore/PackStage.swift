#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Blocks on their way into a pack: copied back to back (each at a 4 KiB-aligned position, zero-padded) into an
/// aligned buffer and written with one `pwritev` per `limit` bytes, so the write can bypass the page cache
/// (O_DIRECT, see `PackFiles.write(pack:offset:segments:)`). Writing fetched blocks one buffered `pwrite` each cost
/// a third of a downloading node's CPU on this kind of machine (page-cache copies); the extra `memcpy` here costs a
/// small fraction of that.
///
/// The buffer belongs to the store's (single) writer and is reused: a fresh multi-MiB buffer per batch cost a page
/// fault per 4 KiB, a tenth of a downloading node's CPU.
struct PackStage {
  let pack: Int64
  /// Pack offset of the buffer's first byte (aligned).
  private(set) var offset: UInt64
  private let buffer: UnsafeMutableRawPointer
  private let limit: Int
  private var filled = 0

  /// - Parameters: `offset` must be a multiple of `PackFiles.alignment`; the writer's `buffer` is used whole.
  init(pack: Int64, offset: UInt64, buffer: PackStageBuffer) {
    precondition(offset % PackFiles.alignment == 0, "pack stage must start at an aligned offset")
    self.pack = pack
    self.offset = offset
    self.buffer = buffer.pointer
    self.limit = buffer.capacity
  }

  /// Stages `bytes` at the next aligned position (writing out what is staged first when it would not fit).
  mutating func add(_ bytes: [UInt8], to packs: PackFiles) throws(StoreError) {
    let size = Int(PackFiles.align(UInt64(bytes.count)))
    if filled + size > limit { try flush(to: packs) }
    if size > limit {  // larger than the buffer: written on its own, through the page cache
      try packs.write(pack: pack, offset: offset, bytes: bytes)
      offset += UInt64(size)
      return
    }
    bytes.withUnsafeBytes { src in
      if let base = src.baseAddress { (buffer + filled).copyMemory(from: base, byteCount: src.count) }
    }
    (buffer + filled + bytes.count).initializeMemory(as: UInt8.self, repeating: 0, count: size - bytes.count)
    filled += size
  }

  /// Writes what is staged.
  mutating func flush(to packs: PackFiles) throws(StoreError) {
    guard filled > 0 else { return }
    try packs.write(pack: pack, offset: offset, segments: [UnsafeRawBufferPointer(start: buffer, count: filled)])
    offset += UInt64(filled)
    filled = 0
  }
}

/// The aligned buffer a store's writer stages pack bytes in (see `PackStage`). Only the writer uses it, one batch at
/// a time (hence `@unchecked Sendable`).
final class PackStageBuffer: @unchecked Sendable {
  static let defaultCapacity = 8 << 20
  let pointer: UnsafeMutableRawPointer
  let capacity: Int

  init(capacity: Int = defaultCapacity) {
    self.capacity = max(Int(PackFiles.alignment), capacity)
    var p: UnsafeMutableRawPointer?
    guard posix_memalign(&p, Int(PackFiles.alignment), self.capacity) == 0, let p else {
      fatalError("out of memory allocating a \(capacity)-byte pack write buffer")
    }
    pointer = p
  }

  deinit { free(pointer) }
}
