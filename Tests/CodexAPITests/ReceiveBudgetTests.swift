import NIOCore
import NIOEmbedded
import Testing

@testable import CodexAPI

@Suite struct ReceiveBudgetTests {
  @Test("reads shrink as connections open so all of them buffer about the budget; never below 64 KiB")
  func readLimitFollowsTheConnections() {
    let budget = ReceiveBudget(totalBytes: 96 << 20, largestRead: 1 << 20)
    #expect(budget.readLimit == 1 << 20)
    for _ in 0..<8 { budget.connectionOpened() }
    #expect(budget.readLimit == 1 << 20)  // 96 MiB / (11 × 8) > 1 MiB
    for _ in 0..<16 { budget.connectionOpened() }
    #expect(budget.readLimit == (96 << 20) / (11 * 24))
    #expect(budget.readLimit * ReceiveBudget.partsPerConnection * 24 <= 96 << 20)
    for _ in 0..<1000 { budget.connectionOpened() }
    #expect(budget.readLimit == ReceiveBudget.smallestRead)
    for _ in 0..<1022 { budget.connectionClosed() }
    #expect(budget.connections == 2)
    #expect(budget.readLimit == 1 << 20)
  }

  @Test("the allocator grows like NIO's adaptive one, up to the budget's limit of the moment")
  func allocatorIsCappedByTheBudget() {
    let budget = ReceiveBudget(totalBytes: 11 << 20, largestRead: 1 << 20)
    budget.connectionOpened()
    var allocator = BudgetedRecvAllocator(budget: budget)
    #expect(allocator.nextBufferSize() == 2048)
    for _ in 0..<40 { _ = allocator.record(actualReadBytes: allocator.nextBufferSize()!) }
    #expect(allocator.nextBufferSize() == 1 << 20)
    #expect(allocator.buffer(allocator: ByteBufferAllocator()).capacity >= 1 << 20)
    for _ in 0..<3 { budget.connectionOpened() }  // 11 MiB / (11 × 4) = 256 KiB
    #expect(allocator.nextBufferSize() == 256 << 10)
    let buffer = allocator.buffer(allocator: ByteBufferAllocator())
    #expect(buffer.capacity >= 256 << 10 && buffer.capacity < 1 << 20)
  }

  @Test("a connection counts while its handler is in the pipeline")
  func handlerCountsItsConnection() throws {
    let budget = ReceiveBudget()
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandler(ReceiveBufferSizing(budget: budget))
    #expect(budget.connections == 1)
    _ = try channel.finish()
    #expect(budget.connections == 0)
  }
}
