import Multiformats

/// A Codex manifest: the description of a dataset (`formats.md` §5).
///
/// Plain manifests come from uploads; protected ones add erasure-coding info; verifiable ones add slot roots.
/// `encoded` reproduces nim-codex's bytes exactly (field order, always-write), so `cid` equals a Nim node's.
public struct Manifest: Sendable, Hashable {
  /// How blocks are assigned to groups or slots (`codex/indexingstrategy.nim`).
  public enum Strategy: UInt64, Sendable, Hashable, Codable {
    case linear = 0
    case stepped = 1
  }

  /// Erasure-coding parameters of a protected manifest.
  public struct ErasureInfo: Sendable, Hashable {
    public var ecK: Int
    public var ecM: Int
    public var originalTreeCid: Cid
    public var originalDatasetSize: UInt64
    public var strategy: Strategy
    public var verification: VerificationInfo?

    public init(
      ecK: Int, ecM: Int, originalTreeCid: Cid, originalDatasetSize: UInt64, strategy: Strategy = .stepped,
      verification: VerificationInfo? = nil
    ) {
      self.ecK = ecK
      self.ecM = ecM
      self.originalTreeCid = originalTreeCid
      self.originalDatasetSize = originalDatasetSize
      self.strategy = strategy
      self.verification = verification
    }
  }

  /// Slot-proof roots of a verifiable manifest.
  public struct VerificationInfo: Sendable, Hashable {
    public var verifyRoot: Cid
    public var slotRoots: [Cid]
    public var cellSize: Int
    public var strategy: Strategy

    public init(verifyRoot: Cid, slotRoots: [Cid], cellSize: Int = Codex.defaultCellSize, strategy: Strategy = .linear) {
      self.verifyRoot = verifyRoot
      self.slotRoots = slotRoots
      self.cellSize = cellSize
      self.strategy = strategy
    }
  }

  public var treeCid: Cid
  public var datasetSize: UInt64
  public var blockSize: Int
  public var codec: Multicodec
  public var hcodec: Multicodec
  public var version: Int
  public var filename: String?
  public var mimetype: String?
  public var erasure: ErasureInfo?

  public init(
    treeCid: Cid, datasetSize: UInt64, blockSize: Int = Codex.defaultBlockSize, codec: Multicodec = .codexBlock,
    hcodec: Multicodec = .sha2_256, version: Int = 1, filename: String? = nil, mimetype: String? = nil,
    erasure: ErasureInfo? = nil
  ) {
    self.treeCid = treeCid
    self.datasetSize = datasetSize
    self.blockSize = blockSize
    self.codec = codec
    self.hcodec = hcodec
    self.version = version
    self.filename = filename
    self.mimetype = mimetype
    self.erasure = erasure
  }

  public var isProtected: Bool { erasure != nil }
  public var isVerifiable: Bool { erasure?.verification != nil }

  /// `ceil(datasetSize / blockSize)`.
  public var blocksCount: Int { Int((datasetSize + UInt64(blockSize) - 1) / UInt64(blockSize)) }

  /// `ceil(originalDatasetSize / blockSize)` for protected manifests, else `blocksCount`.
  public var originalBlocksCount: Int {
    guard let e = erasure else { return blocksCount }
    return Int((e.originalDatasetSize + UInt64(blockSize) - 1) / UInt64(blockSize))
  }

  /// `originalBlocksCount` rounded up to a multiple of `ecK`.
  public var roundedBlocksCount: Int {
    guard let e = erasure, e.ecK > 0 else { return blocksCount }
    return (originalBlocksCount + e.ecK - 1) / e.ecK * e.ecK
  }

  /// Number of erasure-coding groups (`rounded / ecK`).
  public var steps: Int {
    guard let e = erasure, e.ecK > 0 else { return 0 }
    return roundedBlocksCount / e.ecK
  }

  /// The manifest's protobuf bytes (hashed into its CID).
  public var encoded: [UInt8] {
    var header = ProtobufWriter()
    header.write(1, bytes: treeCid.bytes)
    header.write(2, varint: UInt64(UInt32(truncatingIfNeeded: blockSize)))
    header.write(3, varint: datasetSize)
    header.write(4, varint: codec.rawValue)
    header.write(5, varint: hcodec.rawValue)
    header.write(6, varint: UInt64(version))
    if let e = erasure {
      var info = ProtobufWriter()
      info.write(1, varint: UInt64(e.ecK))
      info.write(2, varint: UInt64(e.ecM))
      info.write(3, bytes: e.originalTreeCid.bytes)
      info.write(4, varint: e.originalDatasetSize)
      info.write(5, varint: e.strategy.rawValue)
      if let v = e.verification {
        var vi = ProtobufWriter()
        vi.write(1, bytes: v.verifyRoot.bytes)
        for root in v.slotRoots { vi.write(2, bytes: root.bytes) }
        vi.write(3, varint: UInt64(v.cellSize))
        vi.write(4, varint: v.strategy.rawValue)
        info.write(6, message: vi)
      }
      header.write(7, message: info)
    }
    if let f = filename { header.write(8, bytes: Array(f.utf8)) }
    if let m = mimetype { header.write(9, bytes: Array(m.utf8)) }
    var outer = ProtobufWriter()
    outer.write(1, message: header)
    return outer.bytes
  }

  /// The manifest CID (`codex-manifest`, SHA-256 of `encoded`).
  public var cid: Cid { Codex.manifestCid(for: encoded) }

  /// The manifest as a block with codec `codex-manifest`.
  public var block: Block { Block(data: encoded, codec: .codexManifest) }

  /// Decodes manifest bytes (tolerantly, `formats.md` §5.3) and runs `verify()`.
  public init(encoded bytes: some Collection<UInt8>) throws(FormatError) {
    let outer = try ProtobufReader(bytes)
    guard let headerBytes = outer.bytes(1) else { throw .invalidField(message: "manifest", field: "header") }
    let h = try ProtobufReader(headerBytes)
    func cid(_ raw: [UInt8]?, _ name: String) throws(FormatError) -> Cid {
      guard let raw else { throw .invalidField(message: "manifest", field: name) }
      do { return try Cid(bytes: raw) } catch { throw .multiformats(error) }
    }
    func int(_ v: UInt64?, _ name: String, max: UInt64 = UInt64(Int32.max)) throws(FormatError) -> Int {
      guard let v, v <= max else { throw .invalidField(message: "manifest", field: name) }
      return Int(v)
    }
    treeCid = try cid(h.bytes(1), "treeCid")
    blockSize = try int(h.varint(2), "blockSize", max: UInt64(UInt32.max))
    guard blockSize > 0 else { throw .invalidField(message: "manifest", field: "blockSize (zero)") }
    guard let size = h.varint(3), size < UInt64(Int64.max) else {
      throw .invalidField(message: "manifest", field: "datasetSize")
    }
    datasetSize = size
    codec = Multicodec(rawValue: h.varint(4) ?? 0)
    hcodec = Multicodec(rawValue: h.varint(5) ?? 0)
    version = try int(h.varint(6) ?? 0, "version")
    let f = h.bytes(8).map { String(decoding: $0, as: UTF8.self) }
    filename = f?.isEmpty == false ? f : nil
    let m = h.bytes(9).map { String(decoding: $0, as: UTF8.self) }
    mimetype = m?.isEmpty == false ? m : nil
    if let infoBytes = h.bytes(7), !infoBytes.isEmpty {
      let e = try ProtobufReader(infoBytes)
      var verification: VerificationInfo? = nil
      if let vBytes = e.bytes(6), !vBytes.isEmpty {
        let v = try ProtobufReader(vBytes)
        var roots: [Cid] = []
        for raw in v.repeatedBytes(2) { roots.append(try cid(raw, "slotRoots")) }
        guard !roots.isEmpty else { throw .invalidManifest("a verifiable manifest needs at least one slot root") }
        guard let vs = Strategy(rawValue: v.varint(4) ?? 0) else {
          throw .invalidField(message: "manifest", field: "verifiableStrategy")
        }
        verification = VerificationInfo(
          verifyRoot: try cid(v.bytes(1), "verifyRoot"), slotRoots: roots,
          cellSize: try int(v.varint(3) ?? 0, "cellSize"), strategy: vs)
      }
      guard let ps = Strategy(rawValue: e.varint(5) ?? 0) else {
        throw .invalidField(message: "manifest", field: "protectedStrategy")
      }
      guard let osize = e.varint(4), osize < UInt64(Int64.max) else {
        throw .invalidField(message: "manifest", field: "originalDatasetSize")
      }
      erasure = ErasureInfo(
        ecK: try int(e.varint(1), "ecK"), ecM: try int(e.varint(2), "ecM"),
        originalTreeCid: try cid(e.bytes(3), "originalTreeCid"), originalDatasetSize: osize, strategy: ps,
        verification: verification)
    } else {
      erasure = nil
    }
    try verify()
  }

  /// Checks the manifest's internal consistency.
  /// - Throws: `FormatError.invalidManifest` when a protected manifest's block count is not `steps × (K + M)`,
  ///   or parameters are impossible.
  public func verify() throws(FormatError) {
    guard treeCid.codec == .codexRoot else { throw .wrongCodec(expected: .codexRoot, got: treeCid.codec) }
    guard let e = erasure else { return }
    guard e.ecK > 0 else { throw .invalidManifest("ecK must be positive") }
    guard e.originalTreeCid.codec == .codexRoot else {
      throw .wrongCodec(expected: .codexRoot, got: e.originalTreeCid.codec)
    }
    let expected = steps * (e.ecK + e.ecM)
    guard blocksCount == expected else {
      throw .invalidManifest("protected manifest has \(blocksCount) blocks, expected steps × (K + M) = \(expected)")
    }
    if let v = e.verification {
      guard v.cellSize > 0, blockSize % v.cellSize == 0 else {
        throw .invalidManifest("cell size \(v.cellSize) does not divide block size \(blockSize)")
      }
      guard v.slotRoots.count == e.ecK + e.ecM else {
        throw .invalidManifest("\(v.slotRoots.count) slot roots for \(e.ecK + e.ecM) slots")
      }
    }
  }

  /// Decodes a manifest from a block, refusing blocks whose codec is not `codex-manifest`.
  public init(block: Block) throws(FormatError) {
    guard block.cid.codec == .codexManifest else { throw .wrongCodec(expected: .codexManifest, got: block.cid.codec) }
    try self.init(encoded: block.data)
  }
}
