import Foundation
import Multiformats

/// Where a background dataset download (`POST /data/{cid}/network`) stands: how many of the dataset's blocks are
/// local, how many of those came from peers, and whether it still runs, completed or failed (and why). Kept for
/// the running downloads and the last `NetworkDownloads.keptFinished` finished ones since the node started.
public struct NetworkDownload: Sendable, Equatable {
  public enum State: Sendable, Equatable {
    case running
    case completed
    /// The download stopped; the text says why (e.g. no peer delivered a block in time). Blocks fetched so far
    /// stay in the repo; a new `POST /data/{cid}/network` resumes from them.
    case failed(String)
  }

  public let cid: Cid
  /// Blocks of the dataset's tree.
  public let totalBlocks: Int
  /// Blocks of the tree now in the local repo (already there, or fetched).
  public internal(set) var doneBlocks = 0
  /// Of `doneBlocks`, those fetched from peers by this download.
  public internal(set) var fetchedBlocks = 0
  /// Of `doneBlocks`, those no peer delivered and that were rebuilt from the rest of their erasure-coding group
  /// (protected datasets only).
  public internal(set) var recoveredBlocks = 0
  /// Blocks no peer delivered, waiting to be rebuilt (protected datasets; the download is then still running).
  public internal(set) var unavailableBlocks = 0
  public internal(set) var state = State.running
  public let started: Date
  public internal(set) var finished: Date?
  /// Bytes of the blocks that were not stored here when it started.
  var neededAtStart: UInt64 = 0
  /// The dataset's block size (what each block it stored takes off `promisedBytes`).
  var blockSize: UInt64 = 0

  /// Bytes of quota the blocks still to fetch will take: `neededAtStart` less the blocks it stored since (fetched or
  /// rebuilt). Later downloads count them as taken (`NetworkDownloads.promisedBytes`); zero once it ended.
  public var promisedBytes: UInt64 {
    guard state == .running else { return 0 }
    let stored = UInt64(fetchedBlocks + recoveredBlocks) * blockSize
    return neededAtStart - min(neededAtStart, stored)
  }
}

/// The node's background downloads: the running ones and the most recent finished ones.
struct NetworkDownloads: Sendable {
  /// Finished downloads remembered (the oldest are forgotten first).
  static let keptFinished = 32

  private(set) var byCid: [Cid: NetworkDownload] = [:]
  /// Finished downloads, oldest first.
  private var finishedOrder: [Cid] = []

  /// Records a new download of `cid` (replacing a finished record of the same CID) that will store `promisedBytes`
  /// more, in blocks of `blockSize`.
  mutating func start(
    _ cid: Cid, totalBlocks: Int, promisedBytes: UInt64 = 0, blockSize: Int = 0, at now: Date
  ) {
    finishedOrder.removeAll { $0 == cid }
    var d = NetworkDownload(cid: cid, totalBlocks: totalBlocks, started: now)
    d.neededAtStart = promisedBytes
    d.blockSize = UInt64(max(0, blockSize))
    byCid[cid] = d
  }

  /// The quota the running downloads (other than `cid`) will still take: a new download must fit in what is left
  /// after them, or two that each fit alone would both start and the second to run out would fail half-way.
  func promisedBytes(excluding cid: Cid? = nil) -> (bytes: UInt64, downloads: Int) {
    var total: UInt64 = 0
    var count = 0
    for (c, d) in byCid where c != cid && d.promisedBytes > 0 {
      total += d.promisedBytes
      count += 1
    }
    return (total, count)
  }

  /// One more block of `cid` is local.
  mutating func advance(_ cid: Cid, fetched: Bool) {
    guard var d = byCid[cid] else { return }
    d.doneBlocks += 1
    if fetched { d.fetchedBlocks += 1 }
    byCid[cid] = d
  }

  /// No peer delivered `count` blocks of `cid`: they are to be rebuilt.
  mutating func unavailable(_ cid: Cid, count: Int) {
    byCid[cid]?.unavailableBlocks += count
  }

  /// `count` blocks of `cid` were rebuilt from their erasure-coding groups and are local now.
  mutating func recovered(_ cid: Cid, count: Int) {
    guard var d = byCid[cid] else { return }
    d.doneBlocks += count
    d.recoveredBlocks += count
    d.unavailableBlocks -= min(count, d.unavailableBlocks)
    byCid[cid] = d
  }

  /// The download of `cid` ended in `state` (a download that already ended keeps its first ending).
  mutating func finish(_ cid: Cid, _ state: NetworkDownload.State, at now: Date) {
    guard var d = byCid[cid], d.state == .running else { return }
    d.state = state
    d.finished = now
    byCid[cid] = d
    finishedOrder.append(cid)
    while finishedOrder.count > Self.keptFinished { byCid.removeValue(forKey: finishedOrder.removeFirst()) }
  }
}
