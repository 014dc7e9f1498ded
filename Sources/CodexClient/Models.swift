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
