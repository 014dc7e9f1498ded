import CodexFormats
import CodexNode
import CodexStore
import Foundation
import Multiformats

/// `ManifestItem` of `rest-and-cli.md` §2.2; `filename` and `mimetype` are written as null when absent.
struct ManifestItem: Codable, Sendable {
  var treeCid: String
  var datasetSize: UInt64
  var blockSize: Int
  var filename: String?
  var mimetype: String?
  var protected: Bool
  var verifiable: Bool?
  /// Verifiable manifests only: the slot-root CIDs, the verify-root CID and the cell size.
  var slotRoots: [String]?
  var verifyRoot: String?
  var cellSize: Int?

  init(_ m: Manifest) {
    treeCid = m.treeCid.string
    datasetSize = m.datasetSize
    blockSize = m.blockSize
    filename = m.filename
    mimetype = m.mimetype
    protected = m.isProtected
    verifiable = m.isProtected ? m.isVerifiable : nil
    if let v = m.erasure?.verification {
      slotRoots = v.slotRoots.map(\.string)
      verifyRoot = v.verifyRoot.string
      cellSize = v.cellSize
    }
  }

  func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(treeCid, forKey: .treeCid)
    try c.encode(datasetSize, forKey: .datasetSize)
    try c.encode(blockSize, forKey: .blockSize)
    try c.encode(filename, forKey: .filename)
    try c.encode(mimetype, forKey: .mimetype)
    try c.encode(protected, forKey: .protected)
    try c.encodeIfPresent(verifiable, forKey: .verifiable)
    try c.encodeIfPresent(slotRoots, forKey: .slotRoots)
    try c.encodeIfPresent(verifyRoot, forKey: .verifyRoot)
    try c.encodeIfPresent(cellSize, forKey: .cellSize)
  }
}

/// `DataItem`: a manifest CID and its manifest.
struct DataItem: Codable, Sendable {
  var cid: String
  var manifest: ManifestItem
}

/// `GET /data`'s answer.
struct DataList: Codable, Sendable {
  var content: [DataItem]
}

/// `GET /data/{cid}/network/download`'s answer (swift-codex extension): a background download's progress.
struct DownloadItem: Codable, Sendable {
  var cid: String
  /// "running", "completed" or "failed".
  var state: String
  /// Why a failed download stopped.
  var error: String?
  var totalBlocks: Int
  var doneBlocks: Int
  var fetchedBlocks: Int
  var recoveredBlocks: Int
  var unavailableBlocks: Int
  /// ISO 8601, UTC.
  var startedAt: String
  var finishedAt: String?

  init(_ d: NetworkDownload) {
    cid = d.cid.string
    switch d.state {
    case .running: state = "running"
    case .completed: state = "completed"
    case .failed(let why):
      state = "failed"
      error = why
    }
    totalBlocks = d.totalBlocks
    doneBlocks = d.doneBlocks
    fetchedBlocks = d.fetchedBlocks
    recoveredBlocks = d.recoveredBlocks
    unavailableBlocks = d.unavailableBlocks
    startedAt = d.started.formatted(.iso8601)
    finishedAt = d.finished?.formatted(.iso8601)
  }
}

/// `GET /debug/info`'s answer.
struct DebugInfo: Codable, Sendable {
  struct Table: Codable, Sendable {
    var localNode: [String: String]?
    var nodes: [[String: String]]
  }
  struct Version: Codable, Sendable {
    var version: String
    var revision: String
    var contracts: String
  }
  var id: String
  var addrs: [String]
  var repo: String
  var spr: String
  var announceAddresses: [String]
  var table: Table
  var codex: Version
  /// Blocks accepted from each peer since start (an extension of nim-codex's shape).
  var blockExchange: BlockExchangeInfo?
  /// Chain, account, balances and contracts with the `persistence` subcommand; absent without it (an extension).
  var marketplace: MarketplaceStatus? = nil
}

/// Block-exchange counters in `/debug/info`.
struct BlockExchangeInfo: Codable, Sendable {
  var receivedBlocksByPeer: [String: Int]
}
