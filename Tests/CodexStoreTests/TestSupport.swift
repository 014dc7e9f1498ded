import CodexFormats
import Foundation
import Logging
import Multiformats
import Synchronization

@testable import CodexStore

/// A clock tests move by hand.
final class TestClock: CodexClock {
  private let value: Mutex<Int64>
  init(_ start: Int64 = 1_700_000_000) { value = Mutex(start) }
  func now() -> Int64 { value.withLock { $0 } }
  func advance(_ seconds: Int64) { value.withLock { $0 += seconds } }
}

/// A fresh temporary directory, removed by `cleanup`.
struct TempDir {
  let path: String
  init() {
    path = NSTemporaryDirectory() + "codexstore-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

let testLogger: Logger = {
  var l = Logger(label: "codexstore-test", factory: { _ in SwiftLogNoOpLogHandler() })
  l.logLevel = .critical
  return l
}()

/// Deterministic pseudo-random bytes (splitmix64).
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
  var s = seed &+ 0x9E37_79B9_7F4A_7C15
  var out = [UInt8](repeating: 0, count: count)
  var i = 0
  while i < count {
    s = s &+ 0x9E37_79B9_7F4A_7C15
    var z = s
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    for b in 0..<8 where i < count {
      out[i] = UInt8(truncatingIfNeeded: z >> (8 * UInt64(b)))
      i += 1
    }
  }
  return out
}

/// A dataset ready to upload: blocks, tree, proofs and manifest.
struct TestDataset {
  let blocks: [Block]
  let tree: CodexTree
  let manifest: Manifest
  var treeCid: Cid { tree.rootCid }
  var manifestBlock: Block { manifest.block }
  var manifestCid: Cid { manifest.block.cid }

  /// `count` blocks of `blockSize` bytes; `shared` blocks (by position) can be passed in to share with another set.
  init(count: Int, seed: UInt64, blockSize: Int = 65536, override: [Int: Block] = [:], filename: String? = nil) throws {
    var blocks: [Block] = []
    for i in 0..<count {
      blocks.append(override[i] ?? Block(data: pseudoRandomBytes(blockSize, seed: seed &* 1000 &+ UInt64(i))))
    }
    self.blocks = blocks
    tree = try CodexTree(leaves: blocks.map { $0.cid.multihash.digest })
    manifest = Manifest(
      treeCid: tree.rootCid, datasetSize: UInt64(count * blockSize), blockSize: blockSize, filename: filename)
  }

  func leaves() throws -> [(blockCid: Cid, proof: CodexProof)] {
    try blocks.indices.map { (blocks[$0].cid, try tree.proof(for: $0)) }
  }

  /// Uploads through a session and commits.
  func upload(to store: RepoStore) async throws {
    let session = try await store.beginUpload()
    try await session.add(blocks)
    try await session.commit(treeCid: treeCid, leaves: try leaves(), manifest: manifestBlock)
  }
}

/// Fills batches of `capacity` blocks from `blocks` (whole blocks), hashes them and adds them to `session` (the
/// upload fast path).
func addInBatches(_ blocks: [Block], capacity: Int, to session: UploadSession) async throws {
  var i = 0
  while i < blocks.count {
    let batch = BlockBatch(blockSize: blocks[0].data.count, capacity: capacity)
    for b in blocks[i..<min(i + capacity, blocks.count)] { _ = b.data.withUnsafeBytes { batch.append($0) } }
    i += batch.count
    await batch.hashAll()
    try await session.addLeaves(batch)
  }
}

/// A store on `dir`. Deletes, aborts, recovery and space release work in steps of `rowsPerStep` rows; tests default
/// to 2 so every multi-block scenario crosses step boundaries (production uses 4096).
func openStore(
  _ dir: TempDir, clock: TestClock = TestClock(), quota: UInt64 = 1 << 30, packLimit: UInt64 = 1 << 32,
  rowsPerStep: Int = 2, faultHook: (@Sendable (String) -> Void)? = nil
) throws -> RepoStore {
  try RepoStore(
    config: RepoConfig(
      directory: dir.path, quotaMaxBytes: quota, blockTTL: .seconds(1000), packFileLimit: packLimit,
      rowsPerStep: rowsPerStep, faultHook: faultHook),
    clock: clock, logger: testLogger)
}

/// Holds the store the first time it reaches fault point `point` (its thread waits in `hook`) until `release()`, or
/// for 10 s at most, so a test can act while the store stands there.
final class FirstHitHold: Sendable {
  let point: String
  private let state = Mutex<(reached: Bool, releasedInTime: Bool?)>((false, nil))
  private let gate = DispatchSemaphore(value: 0)

  init(_ point: String) { self.point = point }

  /// The store's `faultHook`.
  var hook: @Sendable (String) -> Void { { [self] reachedPoint in self.hit(reachedPoint) } }

  private func hit(_ reachedPoint: String) {
    guard reachedPoint == point else { return }
    let first = state.withLock { s in
      defer { s.reached = true }
      return !s.reached
    }
    guard first else { return }
    let released = gate.wait(timeout: .now() + 10) == .success
    state.withLock { $0.releasedInTime = released }
  }

  /// Waits (up to 10 s) until the store is held there; false if it never got there.
  func waitUntilReached() async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while !state.withLock({ $0.reached }), ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(5))
    }
    return state.withLock { $0.reached }
  }

  /// Lets the held store go on.
  func release() { gate.signal() }

  /// Whether `release()` came while the store was held (nil: not held yet, or still held).
  var releasedInTime: Bool? { state.withLock { $0.releasedInTime } }
}

/// True if the file system under `dir` frees space on hole punching (ext4, xfs, tmpfs, btrfs do), probed with the
/// store's own pack code.
func holePunchingWorks(_ dir: TempDir) -> Bool {
  let probeDir = dir.path + "/probe"
  try? FileManager.default.createDirectory(atPath: probeDir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: probeDir) }
  let packs = PackFiles(directory: probeDir)
  defer { packs.closeAll() }
  guard (try? packs.open(1)) != nil,
    (try? packs.write(pack: 1, offset: 0, bytes: pseudoRandomBytes(262144, seed: 1))) != nil,
    (try? packs.sync(pack: 1)) != nil, let before = try? packs.allocatedBytes(pack: 1)
  else { return false }
  guard packs.punch([(1, 0, 262144)]).isEmpty, let after = try? packs.allocatedBytes(pack: 1) else { return false }
  return after < before
}

/// Bytes all pack files occupy on disk.
func packBytesOnDisk(_ dir: TempDir) -> UInt64 {
  let packDir = dir.path + "/packs"
  var total: UInt64 = 0
  for name in (try? FileManager.default.contentsOfDirectory(atPath: packDir)) ?? [] {
    var st = stat()
    if stat(packDir + "/" + name, &st) == 0 { total += UInt64(st.st_blocks) * 512 }
  }
  return total
}

/// Logical sizes of the pack files, by name.
func packSizes(_ dir: TempDir) -> [String: UInt64] {
  let packDir = dir.path + "/packs"
  var out: [String: UInt64] = [:]
  for name in (try? FileManager.default.contentsOfDirectory(atPath: packDir)) ?? [] {
    var st = stat()
    if stat(packDir + "/" + name, &st) == 0 { out[name] = UInt64(st.st_size) }
  }
  return out
}
