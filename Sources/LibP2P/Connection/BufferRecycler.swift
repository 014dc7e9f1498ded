import NIOCore

/// A few `ByteBuffer`s that are reused once nobody else holds them any more, so bulk transfers do not
/// allocate (and page-fault) a fresh large buffer for every socket read or write. Built on NIO's
/// `NIOPooledRecvBufferAllocator`, which reuses a buffer only when it is uniquely referenced.
///
/// Used on one event loop only.
struct BufferRecycler {
  /// Asks the pool for buffers of at least `size` bytes.
  private struct SizeHint: RecvByteBufferAllocator {
    var size: Int
    func buffer(allocator: ByteBufferAllocator) -> ByteBuffer { allocator.buffer(capacity: size) }
    func nextBufferSize() -> Int? { size }
    mutating func record(actualReadBytes: Int) -> Bool { false }
  }

  private var pool: NIOPooledRecvBufferAllocator

  /// - Parameter count: how many buffers may be kept for reuse.
  init(count: Int) {
    pool = NIOPooledRecvBufferAllocator(capacity: count, recvAllocator: SizeHint(size: 4096))
  }

  /// Fills an empty buffer with room for at least `capacity` bytes (a recycled one when one is free, else a
  /// new one) through `body`, and returns it. Write into the buffer only inside `body`: afterwards the
  /// pool shares it, and writing would copy it. Sizes are rounded up to a power of two (min 4 KiB) so
  /// buffers of similar sizes are reused.
  mutating func withBuffer<R>(
    capacity: Int, allocator: ByteBufferAllocator, _ body: (inout ByteBuffer) throws -> R
  ) rethrows -> (ByteBuffer, R) {
    let rounded = max(4096, 1 << (Int.bitWidth - (max(capacity, 1) - 1).leadingZeroBitCount))
    pool.recvAllocator = SizeHint(size: rounded)
    return try pool.buffer(allocator: allocator, body)
  }
}
