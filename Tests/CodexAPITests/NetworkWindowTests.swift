import Testing

@testable import CodexNode

/// The prefetch window of reads that fetch from peers shrinks as they multiply.
@Suite struct NetworkWindowTests {
  @Test func fullForAFewReadsSharedByMany() {
    #expect((1...4).map { CodexNode.networkWindow(readers: $0) } == [256, 256, 256, 256])
    #expect(CodexNode.networkWindow(readers: 8) == 128)
    #expect(CodexNode.networkWindow(readers: 16) == 64)
    #expect(CodexNode.networkWindow(readers: 100) == 32)  // never below 32 blocks
    // About 64 MiB in all from 4 reads up to the floor.
    for readers in [4, 8, 12, 16, 32] {
      #expect(readers * CodexNode.networkWindow(readers: readers) * 65536 <= 64 << 20 + 4 << 20)
    }
  }
}
