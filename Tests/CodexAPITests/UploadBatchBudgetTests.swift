import Crypto
import Foundation
import Synchronization
import Testing

@testable import CodexNode

/// A value tasks share.
final class Shared<T: Sendable>: Sendable {
  private let value: Mutex<T>
  init(_ v: T) { value = Mutex(v) }
  func withLock<R>(_ body: (inout T) -> R) -> R { value.withLock { body(&$0) } }
}

/// All uploads together hold at most the node's batch budget of full-size batches; uploads beyond it go on with small
/// batches and finish, whatever the uploads holding the budget do.
@Suite(.timeLimit(.minutes(1))) struct UploadBatchBudgetTests {
  @Test func firstBatchesOnlyWithinTheLimitAndNoExtraBatchWhileAnUploadIsStarved() {
    let budget = UploadBatchBudget(limit: 2)
    #expect(budget.tryAcquireFirst())
    #expect(budget.tryAcquire())
    #expect(budget.held == 2)
    #expect(!budget.tryAcquireFirst(), "a first batch was granted over the limit")
    #expect(!budget.tryAcquire())
    // An upload runs on small batches: batches given back go to first batches, not to extra ones.
    budget.setStarved(true)
    budget.release(1)
    #expect(!budget.tryAcquire())
    #expect(budget.tryAcquireFirst())
    budget.setStarved(false)
    budget.release(1)
    #expect(budget.tryAcquire())
    budget.release(2)
    #expect(budget.held == 0)
    #expect(budget.starved == 0)
  }

  @Test func uploadsThatHoldTheWholeBudgetAndStopSendingDoNotStallOthers() async throws {
    let t = try TestNode()
    let node = t.node
    defer { try? FileManager.default.removeItem(atPath: t.dir) }
    // Clients that sent a little and went quiet without closing: each holds a first batch, and together all of them.
    var stalled: [DatasetUpload] = []
    for k in 0..<node.uploadBudget.limit {
      let upload = try await node.startUpload()
      try await upload.write(Self.bytes(k, 0, 1000))
      stalled.append(upload)
    }
    #expect(node.uploadBudget.held == node.uploadBudget.limit)
    // Another upload goes through on small batches (it used to wait for a batch until one of them finished).
    let size = 3 * (1 << 20) + 5
    let done = Shared(false)
    let watchdog = Task {
      try await Task.sleep(for: .seconds(20))
      #expect(done.withLock { $0 }, "an upload waited for uploads that stopped sending")
    }
    let upload = try await node.startUpload()
    var offset = 0
    while offset < size {
      let n = min(1 << 20, size - offset)
      try await upload.write(Self.bytes(99, offset, n))
      offset += n
    }
    #expect(node.uploadBudget.starved == 1)
    let cid = try await upload.finish()
    done.withLock { $0 = true }
    watchdog.cancel()
    #expect(node.uploadBudget.starved == 0)
    var digest = SHA256()
    try await node.read(try await node.manifest(cid), range: 0..<UInt64(size)) { digest.update(data: Array($0)) }
    #expect(Array(digest.finalize()) == Array(SHA256.hash(data: Self.bytes(99, 0, size))))
    // An upload that starts on small batches moves to full ones once the budget has room, mid-way; its blocks stay
    // in order across the change.
    let mixed = try await node.startUpload()
    let mixedSize = 20 * (1 << 20) + 7
    offset = 0
    while offset < mixedSize {
      if offset == 2 << 20 {
        #expect(node.uploadBudget.starved == 1)
        await stalled.removeLast().abort()
      }
      let n = min(1 << 20, mixedSize - offset)
      try await mixed.write(Self.bytes(100, offset, n))
      offset += n
    }
    #expect(node.uploadBudget.held == node.uploadBudget.limit)
    #expect(node.uploadBudget.starved == 0)
    let mixedCid = try await mixed.finish()
    var mixedDigest = SHA256()
    try await node.read(try await node.manifest(mixedCid), range: 0..<UInt64(mixedSize)) {
      mixedDigest.update(data: Array($0))
    }
    #expect(Array(mixedDigest.finalize()) == Array(SHA256.hash(data: Self.bytes(100, 0, mixedSize))))
    for u in stalled { await u.abort() }
    #expect(node.uploadBudget.held == 0)
  }

  @Test func moreConcurrentUploadsThanTheBudgetAllStoreTheirBytes() async throws {
    let t = try TestNode()
    let node = t.node
    defer { try? FileManager.default.removeItem(atPath: t.dir) }
    let size = 2 * 128 * 65536 + 1  // two full 8 MiB batches and one byte
    let uploads = node.uploadBudget.limit + 4
    let peak = Shared(0)
    let cids = try await withThrowingTaskGroup(of: (Int, String).self) { group in
      for k in 0..<uploads {
        group.addTask {
          let upload = try await node.startUpload()
          var offset = 0
          while offset < size {
            let n = min(1 << 20, size - offset)
            try await upload.write(Self.bytes(k, offset, n))
            offset += n
            let held = node.uploadBudget.held
            peak.withLock { p in p = max(p, held) }
          }
          return (k, try await upload.finish().string)
        }
      }
      var out: [Int: String] = [:]
      for try await (k, cid) in group { out[k] = cid }
      return out
    }
    #expect(cids.count == uploads)
    #expect(peak.withLock { $0 } > 0)  // the uploads drew on the budget...
    #expect(peak.withLock { $0 } <= node.uploadBudget.limit)  // ...and never past it
    #expect(node.uploadBudget.held == 0)
    // Every dataset reads back as written.
    for k in 0..<uploads {
      let manifest = try await node.manifest(try CodexNode.parseCid(cids[k]!))
      var digest = SHA256()
      var count = 0
      try await node.read(manifest, range: 0..<UInt64(size)) { slice in
        digest.update(data: Array(slice))
        count += slice.count
      }
      #expect(count == size)
      #expect(Array(digest.finalize()) == Array(SHA256.hash(data: Self.bytes(k, 0, size))))
    }
  }

  @Test func pastTheSmallLimitAnUploadFillsOneBlockBatchesAndStoresTheSameDataset() async throws {
    let t = try TestNode()
    let node = t.node
    defer { try? FileManager.default.removeItem(atPath: t.dir) }
    let budget = node.uploadBudget
    // Other uploads hold every full-size and every small batch (taken here straight from the budget).
    for _ in 0..<budget.limit { #expect(budget.tryAcquireFirst()) }
    for _ in 0..<budget.smallLimit { #expect(budget.tryAcquireSmall()) }
    #expect(!budget.tryAcquireSmall())
    let size = 5 * 65536 + 7
    let data = Self.bytes(7, 0, size)
    let upload = try await node.startUpload()
    try await upload.write(data[..<(65536 + 3)])
    try await upload.write(data[(65536 + 3)...])
    #expect(budget.smallHeld == budget.smallLimit)
    let cid = try await upload.finish()
    #expect(budget.smallHeld == budget.smallLimit)  // it took none
    budget.release(budget.limit)
    budget.releaseSmall(budget.smallLimit)
    // The same bytes uploaded the usual way give the same dataset, and it reads back as written.
    let usual = try await node.startUpload()
    try await usual.write(data)
    #expect(try await usual.finish() == cid)
    var digest = SHA256()
    try await node.read(try await node.manifest(cid), range: 0..<UInt64(size)) { digest.update(data: Array($0)) }
    #expect(Array(digest.finalize()) == Array(SHA256.hash(data: data)))
    #expect(budget.held == 0 && budget.smallHeld == 0)
    // An upload that got a small batch gives it back when it ends.
    for _ in 0..<budget.limit { #expect(budget.tryAcquireFirst()) }
    let small = try await node.startUpload()
    try await small.write(Self.bytes(8, 0, 1000))
    #expect(budget.smallHeld == 1)
    await small.abort()
    #expect(budget.smallHeld == 0)
    budget.release(budget.limit)
  }

  /// 1 MiB of random bytes the uploads' data is made from.
  static let base: [UInt8] = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) }

  /// Bytes `offset..<offset+n` of upload `k` (`offset` a multiple of 64 KiB): `base` repeated, each 64 KiB block
  /// stamped with its upload and position, so every block of every upload differs.
  static func bytes(_ k: Int, _ offset: Int, _ n: Int) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(n)
    while out.count < n { out += base.prefix(n - out.count) }
    var block = 0
    while block < n {
      let stamp = [UInt64(k), UInt64(offset + block)]
      for (j, word) in stamp.enumerated() {
        for b in 0..<8 where block + j * 8 + b < n {
          out[block + j * 8 + b] = UInt8(truncatingIfNeeded: word >> (8 * b))
        }
      }
      block += 65536
    }
    return out
  }
}
