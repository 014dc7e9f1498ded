import Foundation
import Multiformats
import Testing

@testable import CodexNode

@Suite struct NetworkDownloadsTests {
  static func cid(_ i: Int) -> Cid {
    var digest = [UInt8](repeating: 0, count: 32)
    digest[0] = UInt8(i & 0xff)
    digest[1] = UInt8(i >> 8)
    return Cid(codec: .codexManifest, multihash: Multihash(code: .sha2_256, digest: digest))
  }

  @Test func progressAndOutcomeAreRecorded() {
    var downloads = NetworkDownloads()
    let start = Date(timeIntervalSince1970: 1000)
    downloads.start(Self.cid(1), totalBlocks: 3, at: start)
    downloads.advance(Self.cid(1), fetched: false)
    downloads.advance(Self.cid(1), fetched: true)
    #expect(downloads.byCid[Self.cid(1)]?.state == .running)
    var d = downloads.byCid[Self.cid(1)]!
    #expect((d.doneBlocks, d.fetchedBlocks, d.state, d.finished) == (2, 1, .running, nil))
    downloads.finish(Self.cid(1), .failed("no peer"), at: start + 5)
    d = downloads.byCid[Self.cid(1)]!
    #expect(d.state == .failed("no peer"))
    #expect(d.finished == start + 5)
    #expect(downloads.byCid[Self.cid(1)]?.state != .running)
    // The first ending stays (a delete stops a download, then its task ends cancelled).
    downloads.finish(Self.cid(1), .failed("cancelled"), at: start + 6)
    #expect(downloads.byCid[Self.cid(1)]?.state == .failed("no peer"))
    #expect(downloads.byCid[Self.cid(1)]?.finished == start + 5)
    // A new download of the same dataset starts from zero again.
    downloads.start(Self.cid(1), totalBlocks: 3, at: start + 10)
    d = downloads.byCid[Self.cid(1)]!
    #expect((d.doneBlocks, d.fetchedBlocks, d.state, d.started) == (0, 0, .running, start + 10))
    // Progress for an unknown download is ignored.
    downloads.advance(Self.cid(2), fetched: true)
    #expect(downloads.byCid[Self.cid(2)] == nil)
  }

  @Test("running downloads promise the quota their missing blocks will take, until stored or ended")
  func promisedQuota() {
    var downloads = NetworkDownloads()
    let now = Date()
    downloads.start(Self.cid(1), totalBlocks: 10, promisedBytes: 8 * 100, blockSize: 100, at: now)
    downloads.start(Self.cid(2), totalBlocks: 4, promisedBytes: 4 * 100, blockSize: 100, at: now)
    downloads.start(Self.cid(3), totalBlocks: 4, at: now)  // everything was local: promises nothing
    #expect(downloads.promisedBytes() == (bytes: 1200, downloads: 2))
    #expect(downloads.promisedBytes(excluding: Self.cid(1)) == (bytes: 400, downloads: 1))
    downloads.advance(Self.cid(1), fetched: false)  // already local: was not promised
    downloads.advance(Self.cid(1), fetched: true)
    downloads.advance(Self.cid(1), fetched: true)
    #expect(downloads.promisedBytes(excluding: Self.cid(2)) == (bytes: 600, downloads: 1))
    downloads.unavailable(Self.cid(1), count: 2)
    downloads.recovered(Self.cid(1), count: 2)  // rebuilt blocks are stored too
    #expect(downloads.byCid[Self.cid(1)]?.promisedBytes == 400)
    for _ in 0..<10 { downloads.advance(Self.cid(2), fetched: true) }  // never below zero
    #expect(downloads.promisedBytes() == (bytes: 400, downloads: 1))
    downloads.finish(Self.cid(1), .failed("no peer"), at: now)
    #expect(downloads.promisedBytes() == (bytes: 0, downloads: 0))
  }

  @Test func onlyTheLastFinishedOnesAreKeptAndRunningOnesNeverDropped() {
    var downloads = NetworkDownloads()
    let now = Date()
    downloads.start(Self.cid(0), totalBlocks: 1, at: now)  // stays running throughout
    let n = NetworkDownloads.keptFinished + 8
    for i in 1...n {
      downloads.start(Self.cid(i), totalBlocks: 1, at: now)
      downloads.finish(Self.cid(i), .completed, at: now)
    }
    #expect(downloads.byCid.count == NetworkDownloads.keptFinished + 1)
    #expect(downloads.byCid[Self.cid(0)]?.state == .running)
    #expect(downloads.byCid[Self.cid(8)] == nil)
    #expect(downloads.byCid[Self.cid(9)]?.state == .completed)
    #expect(downloads.byCid[Self.cid(n)]?.state == .completed)
    // Restarting a finished one and finishing it again does not count it twice.
    downloads.start(Self.cid(9), totalBlocks: 1, at: now)
    downloads.finish(Self.cid(9), .completed, at: now)
    #expect(downloads.byCid.count == NetworkDownloads.keptFinished + 1)
    #expect(downloads.byCid[Self.cid(10)]?.state == .completed)
  }

  @Test func blocksNoPeerHadAreCountedUntilRebuilt() {
    var downloads = NetworkDownloads()
    let now = Date()
    downloads.start(Self.cid(3), totalBlocks: 12, at: now)
    for _ in 0..<8 { downloads.advance(Self.cid(3), fetched: true) }
    downloads.unavailable(Self.cid(3), count: 3)
    downloads.unavailable(Self.cid(3), count: 1)
    var d = downloads.byCid[Self.cid(3)]!
    #expect((d.doneBlocks, d.unavailableBlocks, d.recoveredBlocks) == (8, 4, 0))
    downloads.recovered(Self.cid(3), count: 4)
    d = downloads.byCid[Self.cid(3)]!
    #expect((d.doneBlocks, d.fetchedBlocks, d.unavailableBlocks, d.recoveredBlocks) == (12, 8, 0, 4))
  }
}
