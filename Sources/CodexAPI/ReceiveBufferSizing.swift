import NIOCore
import Synchronization

/// Sizes the socket reads of the API's connections. One large upload reads up to `ReceiveBudget.largestRead` bytes
/// per socket read (NIO's default stops at 64 KiB), so its body arrives in fewer, bigger parts: fewer `read`
/// calls, window-update ACKs, pipeline passes and task hand-offs per byte. The allocator is adaptive, so a small
/// request still gets a small buffer.
///
/// Each read is one body part, and between the socket and the route the server buffers parts by count (up to ten
/// per connection, NIO's async-channel watermark), not by bytes: at 1 MiB a read, every connection whose upload
/// waits for the disk held ~10 MiB (64 concurrent uploads: 665 MiB RSS measured). So the largest read shrinks as
/// connections are added, to keep what all of them can buffer near `ReceiveBudget.totalBytes`. The connection's
/// buffer pool is kept to one buffer (`maxMessagesPerRead` 1) so a connection does not keep up to four large
/// buffers of its own after its upload. Passes every inbound event on untouched.
final class ReceiveBufferSizing: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny
  let budget: ReceiveBudget
  private var counted = false

  init(budget: ReceiveBudget) {
    self.budget = budget
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if !counted {
      counted = true
      budget.connectionOpened()
    }
    let allocator = BudgetedRecvAllocator(budget: budget)
    try? context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: allocator)
    try? context.channel.syncOptions?.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    if counted {
      counted = false
      budget.connectionClosed()
    }
  }
}

/// The receive-buffer budget shared by all of the API's connections.
final class ReceiveBudget: Sendable {
  /// What the connections' read buffers together should stay near.
  let totalBytes: Int
  /// The largest read of a connection, with few connections open.
  let largestRead: Int
  /// The smallest largest read, however many connections are open (NIO's own default).
  static let smallestRead = 64 << 10
  /// Parts a connection can hold: the async channel's high watermark (10) and the pooled buffer being read into.
  static let partsPerConnection = 11
  private let open = Atomic<Int>(0)

  init(totalBytes: Int = 96 << 20, largestRead: Int = 1 << 20) {
    self.totalBytes = totalBytes
    self.largestRead = max(Self.smallestRead, largestRead)
  }

  func connectionOpened() { open.add(1, ordering: .relaxed) }
  func connectionClosed() { open.subtract(1, ordering: .relaxed) }

  /// Connections open now.
  var connections: Int { open.load(ordering: .relaxed) }

  /// The largest read a connection may make now: `totalBytes` shared by the open connections, between
  /// `smallestRead` and `largestRead`.
  var readLimit: Int {
    let share = totalBytes / (Self.partsPerConnection * max(1, connections))
    return min(largestRead, max(Self.smallestRead, share))
  }
}

/// NIO's adaptive allocator (grows after reads that fill the buffer, shrinks after small ones), capped by the
/// budget's current `readLimit`.
struct BudgetedRecvAllocator: RecvByteBufferAllocator {
  let budget: ReceiveBudget
  private var adaptive: AdaptiveRecvByteBufferAllocator

  init(budget: ReceiveBudget) {
    self.budget = budget
    self.adaptive = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: budget.largestRead)
  }

  func nextBufferSize() -> Int? {
    min(adaptive.nextBufferSize() ?? budget.largestRead, budget.readLimit)
  }

  func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
    allocator.buffer(capacity: nextBufferSize()!)
  }

  mutating func record(actualReadBytes: Int) -> Bool {
    adaptive.record(actualReadBytes: actualReadBytes)
  }
}
