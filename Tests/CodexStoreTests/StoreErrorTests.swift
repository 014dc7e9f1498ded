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
