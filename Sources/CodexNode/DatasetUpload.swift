import CodexFormats
import CodexStore
import Foundation
import Logging
import Metrics
import Multiformats

/// One upload in progress: bytes in, a plain manifest CID out (`formats.md` §3 upload pipeline).
///
/// Bytes are cut into 64 KiB blocks; every 64 blocks are hashed in parallel off the caller's task and written to
/// the repo while the next batch is read, so the network read, SHA-256 and the disk overlap. Nothing becomes
/// visible until `finish()` commits leaves and manifest in one transaction; `abort()` (or a crash) leaves no trace.
///
/// Use from one task at a time.
public final class DatasetUpload {
  static let batchBlocks = 64
  static let maxInflight = 3

  private let session: UploadSession
  private let logger: Logger
  private let filename: String?
  private let mimetype: String?
  private var chunker = Chunker()
  private var batch: [[UInt8]] = []
  private var inflight: [Task<[Block], any Error>] = []
  private var blockCids: [Cid] = []
  private var finished = false
  /// The stored manifest, once `finish()` succeeded.
  public private(set) var manifest: Manifest?

  init(session: UploadSession, filename: String?, mimetype: String?, logger: Logger) {
    self.session = session
    self.filename = filename
    self.mimetype = mimetype
    self.logger = logger
    batch.reserveCapacity(Self.batchBlocks)
  }

  /// The number of bytes received so far.
  public var byteCount: UInt64 { chunker.byteCount }

  /// Adds bytes to the dataset.
  /// - Throws: `NodeError.quotaExceeded` when the repo is full (call `abort()` then).
  public func write(_ bytes: some Collection<UInt8>) async throws {
    for block in chunker.feed(bytes) {
      batch.append(block)
      if batch.count == Self.batchBlocks { try await flush() }
    }
  }

  /// Stores the last block, the leaf metadata and the manifest; returns the manifest CID.
  /// - Throws: `NodeError.emptyUpload` for zero bytes; storage errors. Call `abort()` after a failure.
  public func finish() async throws -> Cid {
    if let last = chunker.finish() { batch.append(last) }
    try await flush()
    try await drain()
    guard !blockCids.isEmpty else { throw NodeError.emptyUpload }
    let cids = blockCids
    let size = chunker.byteCount
    let (filename, mimetype) = (self.filename, self.mimetype)
    // Tree and proofs are CPU work: off the caller's task, on the cooperative pool.
    let (manifest, leaves) = try await Task.detached(priority: .userInitiated) {
      let tree = try CodexTree(flatLeaves: cids.flatMap { $0.multihash.digest })
      var leaves: [(blockCid: Cid, proof: CodexProof)] = []
      leaves.reserveCapacity(cids.count)
      for (i, cid) in cids.enumerated() { leaves.append((cid, try tree.proof(for: i))) }
      let manifest = Manifest(treeCid: tree.rootCid, datasetSize: size, filename: filename, mimetype: mimetype)
      return (manifest, leaves)
    }.value
    do {
      try await session.commit(treeCid: manifest.treeCid, leaves: leaves, manifest: manifest.block)
    } catch { throw NodeError.wrap(error) }
    finished = true
    self.manifest = manifest
    let cid = manifest.cid
    Counter(label: "codex_uploads_total").increment()
    Counter(label: "codex_upload_bytes_total").increment(by: Int64(size))
    logger.info("upload stored", metadata: ["cid": "\(cid)", "bytes": "\(size)", "blocks": "\(cids.count)"])
    return cid
  }

  /// Abandons the upload and removes the blocks it added that nothing else uses.
  public func abort() async {
    guard !finished else { return }
    finished = true
    for task in inflight { _ = try? await task.value }
    inflight.removeAll()
    await session.abort()
  }

  /// Hands the current batch to a task that hashes it (in parallel) and then writes it, in upload order, after
  /// the previous batch's write. Up to `maxInflight` batches are in flight, so reading the body, SHA-256 on
  /// every core and the disk all overlap; memory stays bounded at about `maxInflight` × 4 MiB.
  private func flush() async throws {
    guard !batch.isEmpty else { return }
    let work = batch
    batch.removeAll(keepingCapacity: true)
    let session = self.session
    let previous = inflight.last
    let task = Task<[Block], any Error>.detached { () async throws -> [Block] in
      try await DatasetUpload.store(work, in: session, after: previous)
    }
    inflight.append(task)
    while inflight.count > Self.maxInflight { try await drainOne() }
  }

  private static func store(
    _ work: [[UInt8]], in session: UploadSession, after previous: Task<[Block], any Error>?
  ) async throws -> [Block] {
    let blocks = await hash(work)
    if let previous { _ = try await previous.value }
    do { try await session.add(blocks) } catch { throw NodeError.wrap(error) }
    return blocks
  }

  private func drainOne() async throws {
    let task = inflight.removeFirst()
    let blocks = try await task.value
    blockCids.append(contentsOf: blocks.lazy.map(\.cid))
  }

  private func drain() async throws {
    while !inflight.isEmpty { try await drainOne() }
  }

  /// Hashes blocks in parallel across the cores.
  static func hash(_ datas: [[UInt8]]) async -> [Block] {
    let parts = min(datas.count, max(1, ProcessInfo.processInfo.activeProcessorCount))
    if parts <= 1 { return datas.map { Block(data: $0) } }
    return await withTaskGroup(of: (Int, [Block]).self) { group in
      for p in 0..<parts {
        group.addTask {
          (p, stride(from: p, to: datas.count, by: parts).map { Block(data: datas[$0]) })
        }
      }
      var out = [Block?](repeating: nil, count: datas.count)
      for await (p, blocks) in group {
        for (k, b) in blocks.enumerated() { out[p + k * parts] = b }
      }
      return out.map { $0! }
    }
  }
}
