import NIOCore

/// A few large `ByteBuffer`s that are reused once nobody else holds them any more, so bulk transfers do not
/// allocate (and page-fault) a fresh large buffer for every socket read or write. Built on NIO's
/// `NIOPooledRecvBufferAllocator`, which reuses a buffer only when it is uniquely referenced.
///
/// Small requests (under ``smallLimit``) get plain exact-size buffers, so idle connections keep nothing;
/// after ``releaseAfterSmall`` small requests in a row the kept large buffers are dropped, so a connection
/// holds them only while it moves bulk data. Used on one event loop only.
struct BufferRecycler {
  /// Asks the pool for buffers of at least `size` bytes.
  private struct SizeHint: RecvByteBufferAllocator {
    var size: Int
    func buffer(allocator: ByteBufferAllocator) -> ByteBuffer { allocator.buffer(capacity: size) }
    func nextBufferSize() -> Int? { size }
    mutating func record(actualReadBytes: Int) -> Bool { false }
  }

  /// Requests below this size are not pooled.
  static let smallLimit = 16 * 1024
  /// Consecutive small requests after which the pooled buffers are released.
  static let releaseAfterSmall = 64

  private let count: Int
  private var pool: NIOPooledRecvBufferAllocator?
  private var smallInARow = 0

  /// - Parameter count: how many large buffers may be kept for reuse.
  init(count: Int) {
    self.count = count
  }

  /// Fills an empty buffer with room for at least `capacity` bytes (a recycled one when one is free, else a
  /// new one) through `body`, and returns it. Write into the buffer only inside `body`: afterwards the
  /// pool shares it, and writing would copy it. Pooled sizes are rounded up to a multiple of 64 KiB so
  /// buffers of similar sizes are reused.
  mutating func withBuffer<R>(
    capacity: Int, allocator: ByteBufferAllocator, _ body: (inout ByteBuffer) throws -> R
  ) rethrows -> (ByteBuffer, R) {
    if capacity < Self.smallLimit {
      smallInARow += 1
      if smallInARow >= Self.releaseAfterSmall { pool = nil }
      var buffer = allocator.buffer(capacity: capacity)
      let result = try body(&buffer)
      return (buffer, result)
    }
    smallInARow = 0
    let rounded = (capacity + 0xFFFF) & ~0xFFFF
    if pool == nil {
      pool = NIOPooledRecvBufferAllocator(capacity: count, recvAllocator: SizeHint(size: rounded))
    }
    pool!.recvAllocator = SizeHint(size: rounded)
    return try pool!.buffer(allocator: allocator, body)
  }
}
