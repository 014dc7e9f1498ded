/// A manifest as shown by `GET /data` and `POST /data/{cid}/network` (rest-and-cli.md §2.2).
public struct ManifestInfo: Sendable, Equatable, Codable {
  public var treeCid: String
  /// The manifest's own dataset size (the erasure-coded size for protected manifests).
  public var datasetSize: Int64
  public var blockSize: Int64
  public var filename: String?
  public var mimetype: String?
  public var protected: Bool
  /// Present only for protected manifests.
  public var verifiable: Bool?

  public init(
    treeCid: String, datasetSize: Int64, blockSize: Int64, filename: String? = nil, mimetype: String? = nil,
    protected: Bool = false, verifiable: Bool? = nil
  ) {
    self.treeCid = treeCid
    self.datasetSize = datasetSize
    self.blockSize = blockSize
    self.filename = filename
    self.mimetype = mimetype
    self.protected = protected
    self.verifiable = verifiable
  }

  enum CodingKeys: String, CodingKey {
    case treeCid, datasetSize, blockSize, filename, mimetype, protected, verifiable
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    treeCid = try c.decode(String.self, forKey: .treeCid)
    datasetSize = try c.decode(Int64.self, forKey: .datasetSize)
    blockSize = try c.decode(Int64.self, forKey: .blockSize)
    filename = try c.decodeIfPresent(String.self, forKey: .filename)
    mimetype = try c.decodeIfPresent(String.self, forKey: .mimetype)
    protected = try c.decodeIfPresent(Bool.self, forKey: .protected) ?? false
    verifiable = try c.decodeIfPresent(Bool.self, forKey: .verifiable)
  }
}

/// One stored dataset: its manifest CID and the manifest.
public struct DataItem: Sendable, Equatable, Codable {
  public var cid: String
  public var manifest: ManifestInfo

  public init(cid: String, manifest: ManifestInfo) {
    self.cid = cid
    self.manifest = manifest
  }
}

/// The body of `GET /space`.
public struct SpaceInfo: Sendable, Equatable, Codable {
  public var totalBlocks: Int64
  public var quotaMaxBytes: Int64
  public var quotaUsedBytes: Int64
  public var quotaReservedBytes: Int64

  public init(totalBlocks: Int64, quotaMaxBytes: Int64, quotaUsedBytes: Int64, quotaReservedBytes: Int64) {
    self.totalBlocks = totalBlocks
    self.quotaMaxBytes = quotaMaxBytes
    self.quotaUsedBytes = quotaUsedBytes
    self.quotaReservedBytes = quotaReservedBytes
  }

  /// Bytes neither used nor reserved (never negative).
  public var quotaFreeBytes: Int64 { max(0, quotaMaxBytes - quotaUsedBytes - quotaReservedBytes) }
}

/// The body of `GET /data/{cid}/network/download`: a background download's progress.
public struct DownloadStatus: Sendable, Equatable, Codable {
  public var cid: String
  /// "running", "completed" or "failed".
  public var state: String
  /// Why a failed download stopped.
  public var error: String?
  public var totalBlocks: Int
  /// Blocks stored so far (already here, fetched, or rebuilt from parity).
  public var doneBlocks: Int

  public init(cid: String, state: String, error: String? = nil, totalBlocks: Int, doneBlocks: Int) {
    self.cid = cid
    self.state = state
    self.error = error
    self.totalBlocks = totalBlocks
    self.doneBlocks = doneBlocks
  }

  public var isRunning: Bool { state == "running" }
  public var isCompleted: Bool { state == "completed" }
}

/// The parts of `GET /debug/info` a person needs to reach the node.
public struct NodeInfo: Sendable, Equatable, Codable {
  /// The libp2p peer id.
  public var id: String
  /// The addresses the node listens on.
  public var addrs: [String]
  /// The addresses the node tells peers to dial (absent from older nodes: then `addrs`).
  public var announceAddresses: [String]?
  /// The repo directory.
  public var repo: String?
  public var codex: Version?

  public struct Version: Sendable, Equatable, Codable {
    public var version: String?
    public var revision: String?
  }

  public init(id: String, addrs: [String], announceAddresses: [String]? = nil, repo: String? = nil) {
    self.id = id
    self.addrs = addrs
    self.announceAddresses = announceAddresses
    self.repo = repo
  }

  /// Addresses another node should dial, each ending in `/p2p/<id>` (the form `codex connect` takes).
  public var dialAddresses: [String] {
    let chosen = (announceAddresses?.isEmpty == false ? announceAddresses : nil) ?? addrs
    return chosen.map { $0.contains("/p2p/") ? $0 : "\($0)/p2p/\(id)" }
  }
}
