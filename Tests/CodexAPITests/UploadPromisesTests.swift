import CodexStore
import Foundation
import Synchronization
import Testing

@testable import CodexNode

/// Uploads of a declared size promise their blocks' quota: later uploads and downloads that would need it are
/// refused at once, instead of all running and failing half-way together.
@Suite(.timeLimit(.minutes(1))) struct UploadPromisesTests {
  static let block: UInt64 = 65536

  @Test func admissionCountsTheRunningPromisesAndStoredBytesShrinkThem() throws {
    let book = UploadPromises()
    let none: (bytes: UInt64, downloads: Int) = (0, 0)
    let a = try book.admit(600, available: 1000, downloads: none)
    #expect(book.promised() == (bytes: 600, uploads: 1))
    let refused = Self.refusal { _ = try book.admit(500, available: 1000, downloads: none) }
    #expect(refused?.needed == 500 && refused?.available == 1000)
    #expect(refused?.hold == QuotaHold(bytes: 600, uploads: 1))
    let b = try book.admit(400, available: 1000, downloads: none)
    #expect(book.promised() == (bytes: 1000, uploads: 2))
    #expect(book.promised(excluding: b.id) == (bytes: 600, uploads: 1))
    // What an upload stored is no longer promised; a promise fully stored counts no upload.
    let stored = Mutex<UInt64>(0)
    a.track { stored.withLock { $0 } }
    stored.withLock { $0 = 250 }
    #expect(book.promised() == (bytes: 750, uploads: 2))
    stored.withLock { $0 = 700 }
    #expect(book.promised() == (bytes: 400, uploads: 1))
    a.end()
    b.end()
    b.end()  // twice is harmless
    #expect(book.promised() == (bytes: 0, uploads: 0))
  }

  @Test func downloadsPromisesCountAndNobodyHoldingAdmitsWhatTheQuotaChecksLater() throws {
    let book = UploadPromises()
    let refused = Self.refusal {
      _ = try book.admit(950, available: 1000, downloads: (100, 1))
    }
    #expect(refused?.hold == QuotaHold(bytes: 100, downloads: 1), "admitted into quota promised to a download")
    #expect(
      NodeError.quotaPromised(needed: 950, available: 1000, hold: QuotaHold(bytes: 100, downloads: 1)).description
        .contains("of which 100 are promised to the download running (wait for it,"))
    // With nobody holding anything, more than the free quota is admitted: its blocks may be stored already (a
    // file uploaded again), and the store refuses the first batch that does not fit.
    let big = try book.admit(5000, available: 1000, downloads: (0, 0))
    #expect(book.promised().bytes == 5000)
    big.end()
  }

  /// The parts of a `quotaPromised` refusal `body` threw; nil when it threw nothing or something else.
  static func refusal(_ body: () throws -> Void) -> (needed: UInt64, available: UInt64, hold: QuotaHold)? {
    do {
      try body()
      return nil
    } catch {
      return (error as? NodeError).flatMap(promised)
    }
  }

  static func promised(_ error: NodeError) -> (needed: UInt64, available: UInt64, hold: QuotaHold)? {
    guard case .quotaPromised(let needed, let available, let hold) = error else { return nil }
    return (needed, available, hold)
  }

  @Test func quotaOfASizeIsItsWholeBlocksAndSaturates() {
    #expect(DatasetUpload.quotaBytes(forSize: 1) == Self.block)
    #expect(DatasetUpload.quotaBytes(forSize: Self.block) == Self.block)
    #expect(DatasetUpload.quotaBytes(forSize: Self.block + 1) == 2 * Self.block)
    #expect(DatasetUpload.quotaBytes(forSize: .max / Self.block * Self.block) == .max / Self.block * Self.block)
    #expect(DatasetUpload.quotaBytes(forSize: .max) == .max)  // trapped on the overflow before
    #expect(DatasetUpload.quotaBytes(forSize: .max - 15) == .max)
  }

  @Test func holdersAreNamedInMessages() {
    #expect(QuotaHold(bytes: 1, downloads: 1).holdersText == "the download running")
    #expect(QuotaHold(bytes: 1, uploads: 2).holdersText == "the 2 uploads running")
    #expect(QuotaHold(bytes: 1, downloads: 3, uploads: 1).holdersText == "the upload and the 3 downloads running")
  }

  /// The node: a sized upload keeps its room from a second sized upload and from an upload of unknown size, and
  /// gives it up as its batches are stored and when it ends.
  @Test func aSizedUploadKeepsItsRoomUntilItEnds() async throws {
    let b = Self.block
    let t = try TestNode(quota: 400 * b + 4096)
    defer { try? FileManager.default.removeItem(atPath: t.dir) }
    let node = t.node
    let first = try await node.startUpload(declaredSize: 300 * b - 10)
    #expect(node.quotaPromised() == QuotaHold(bytes: 300 * b, uploads: 1))
    // A second sized upload that fits in the free quota but not beside the first is refused before any byte.
    var second: NodeError?
    do { _ = try await node.startUpload(declaredSize: 200 * b) } catch { second = error as? NodeError }
    let refused = second.flatMap(Self.promised)
    #expect(refused?.needed == 200 * b && refused?.available == 400 * b + 4096)
    #expect(refused?.hold == QuotaHold(bytes: 300 * b, uploads: 1))
    // An upload of unknown size may not take the room either; what it stored is removed when it is aborted.
    let unsized = try await node.startUpload()
    let stopped = await #expect(throws: NodeError.self) {
      for k in 0..<2 { try await unsized.write(randomBytes(128 * Int(b), seed: 70 + UInt64(k))) }
      _ = try await unsized.finish()
    }
    #expect("\(stopped!)".contains("promised to the upload running"), "\(stopped!)")
    await unsized.abort()
    #expect(try await node.repo.space().quotaUsedBytes == 0)
    // The first one's promise shrinks as its batches are committed.
    var data: [UInt8] = []
    for k in 0..<3 { data += randomBytes(100 * Int(b), seed: 80 + UInt64(k)) }
    data.removeLast(10)
    try await first.write(data[..<(260 * Int(b))])
    let deadline = ContinuousClock.now + .seconds(20)
    while node.quotaPromised().bytes > 300 * b - 128 * b {
      #expect(ContinuousClock.now < deadline, "the promise did not shrink as batches were stored")
      if ContinuousClock.now >= deadline { break }
      try await Task.sleep(for: .milliseconds(10))
    }
    try await first.write(data[(260 * Int(b))...])
    let cid = try await first.finish()
    #expect(node.quotaPromised() == QuotaHold(bytes: 0))
    #expect(try await node.manifest(cid).datasetSize == UInt64(data.count))
    // Ended: a sized upload that fits is admitted again, and one given up (dropped) frees its room too.
    var dropped: DatasetUpload? = try await node.startUpload(declaredSize: 90 * b)
    #expect(node.quotaPromised().bytes == 90 * b)
    _ = dropped
    dropped = nil
    #expect(node.quotaPromised() == QuotaHold(bytes: 0))
    await node.close()
  }
}
