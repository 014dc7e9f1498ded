import Foundation
import Testing

@testable import CodexStore

@Suite struct StoreErrorTests {
  @Test func lackOfSpaceIsDiskFullAndOtherFailuresAreIO() {
    errno = ENOSPC
    #expect(StoreError.fromErrno("write to p") == .diskFull("write to p failed: No space left on device (errno 28)"))
    errno = EDQUOT
    guard case .diskFull = StoreError.fromErrno("write to p") else {
      Issue.record("EDQUOT is not diskFull")
      return
    }
    errno = EIO
    #expect(StoreError.fromErrno("fdatasync of p") == .io("fdatasync of p failed: Input/output error (errno 5)"))
    #expect(
      StoreError.diskFull("x").description
        == "the disk holding the repo is full (x); free space on it or lower --storage-quota below what it holds")
  }
}

@Suite struct DiskSpaceTests {
  @Test func shortfallCountsTheQuotaLeftIncludingReservations() {
    let space = SpaceInfo(totalBlocks: 0, quotaMaxBytes: 1000, quotaUsedBytes: 300, quotaReservedBytes: 200)
    // 700 bytes still to write (reserved bytes are promised, not yet on disk).
    #expect(DiskSpace.shortfall(space, diskAvailable: 700) == nil)
    #expect(DiskSpace.shortfall(space, diskAvailable: 699) == 1)
    #expect(DiskSpace.shortfall(space, diskAvailable: 0) == 700)
    let full = SpaceInfo(totalBlocks: 0, quotaMaxBytes: 1000, quotaUsedBytes: 1200, quotaReservedBytes: 0)
    #expect(DiskSpace.shortfall(full, diskAvailable: 0) == nil)
  }

  @Test func availableReadsTheFileSystem() throws {
    let free = try #require(DiskSpace.available(atPath: "/tmp"))
    #expect(free > 0)
    #expect(DiskSpace.available(atPath: "/no/such/dir/\(UInt64.random(in: 0...UInt64.max))") == nil)
  }
}
