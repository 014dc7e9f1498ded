// StoreBenchmark: RepoStore write/read throughput with 64 KiB blocks, next to baselines measured in the same run.
// Prints one JSON object per line: {"name", "value", "unit", "baseline_name", "baseline"}.
//
// Usage: StoreBenchmark [--mib N (default 1024)] [--inline-mib N (default 256)] [--dir PATH (default: a temp dir)]
// Build with -c release. Measurements:
//   dd_zero_fdatasync          dd if=/dev/zero bs=1M count=N conv=fdatasync (the disk's streaming write speed)
//   pwrite_fdatasync_batch     pwrite 64 KiB blocks, fdatasync every 64 blocks (what the store does per batch)
//   repo_upload_write          UploadSession.add in batches of 64 blocks + one commit (leaves, proofs, manifest)
//   repo_upload_commit         the commit alone (seconds)
//   repo_leaf_batches_write    the upload fast path: BlockBatch + UploadSession.addLeaves (one pwritev per batch,
//                              O_DIRECT) + buildTree + commit(manifest:) (hashing not timed, like above)
//   repo_leaf_batches_commit   its tree build + streaming commit alone (seconds)
//   repo_read_blockdata_1task  blockData(tree:index:) over every leaf, one task      (page cache warm)
//   repo_read_blockdata_4tasks the same split over 4 concurrent tasks
//   repo_read_getblock_proof   getBlock(tree:index:) (with proof decode), one task
//   pread_baseline             pread of the same pack bytes without any metadata lookup
//   inline_sqlite_write / _read   64 KiB blocks as BLOBs in SQLite (WAL, synchronous=FULL per batch, like the
//                              pack path's fdatasync per batch), vs the repo on the same amount of data

import CodexFormats
import CodexStore
import Foundation
import GRDB
import Logging
import Multiformats

#if canImport(Glibc)
  import Glibc
#endif

let blockSize = 65536
let batch = 64

func arg(_ name: String) -> String? {
  let a = CommandLine.arguments
  guard let i = a.firstIndex(of: name), i + 1 < a.count else { return nil }
  return a[i + 1]
}

let totalMiB = Int(arg("--mib") ?? "1024") ?? 1024
let inlineMiB = Int(arg("--inline-mib") ?? "256") ?? 256
let root = arg("--dir") ?? (NSTemporaryDirectory() + "store-bench-" + UUID().uuidString)
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: root) }

func emit(_ name: String, _ value: Double, _ unit: String, baseline: (String, Double)? = nil, extra: String = "") {
  var s = "{\"name\":\"\(name)\",\"value\":\(String(format: "%.1f", value)),\"unit\":\"\(unit)\""
  if let (bn, bv) = baseline { s += ",\"baseline_name\":\"\(bn)\",\"baseline\":\(String(format: "%.1f", bv))" }
  if !extra.isEmpty { s += "," + extra }
  print(s + "}")
  fflush(nil)
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func mbps(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / 1e6 / seconds }

/// Block `i`: a cheap unique pattern (the benchmark measures storage, not data generation).
func makeBlockData(_ i: Int, salt: UInt64) -> [UInt8] {
  var data = [UInt8](repeating: 0, count: blockSize)
  data.withUnsafeMutableBytes { raw in
    let words = raw.bindMemory(to: UInt64.self)
    var x = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 ^ salt
    for w in 0..<words.count {
      x = x &+ 0xD1B5_4A32_D192_ED03
      words[w] = x
    }
  }
  return data
}

func dropCaches(_ path: String) {
  // Best effort: ask the kernel to forget the file's pages (reads below say "warm" or "cold" accordingly).
  let fd = open(path, O_RDONLY)
  if fd >= 0 {
    _ = fdatasync(fd)
    _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
    close(fd)
  }
}

// MARK: baselines

let totalBytes = totalMiB * 1024 * 1024
let blocksCount = totalBytes / blockSize

func ddBaseline() -> Double? {
  let file = root + "/dd.bin"
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/bin/dd")
  p.arguments = ["if=/dev/zero", "of=\(file)", "bs=1M", "count=\(totalMiB)", "conv=fdatasync"]
  p.standardError = FileHandle.nullDevice
  p.standardOutput = FileHandle.nullDevice
  let t0 = now()
  guard (try? p.run()) != nil else { return nil }
  p.waitUntilExit()
  let dt = now() - t0
  unlink(file)
  return p.terminationStatus == 0 ? mbps(totalBytes, dt) : nil
}

func pwriteBaseline() -> Double {
  let file = root + "/pwrite.bin"
  let fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0o644)
  let block = makeBlockData(1, salt: 7)
  let t0 = now()
  block.withUnsafeBytes { raw in
    for i in 0..<blocksCount {
      _ = pwrite(fd, raw.baseAddress!, blockSize, off_t(i * blockSize))
      if (i + 1) % batch == 0 { _ = fdatasync(fd) }
    }
    _ = fdatasync(fd)
  }
  let dt = now() - t0
  close(fd)
  unlink(file)
  return mbps(totalBytes, dt)
}

let dd = ddBaseline()
if let dd { emit("dd_zero_fdatasync", dd, "MB/s", extra: "\"bytes\":\(totalBytes)") }
let pw = pwriteBaseline()
emit(
  "pwrite_fdatasync_batch", pw, "MB/s", baseline: dd.map { ("dd_zero_fdatasync", $0) },
  extra: "\"batch_blocks\":\(batch)")

// MARK: repo store

let logger: Logger = {
  var l = Logger(label: "store-benchmark")
  l.logLevel = .warning
  return l
}()

struct Written {
  let treeCid: Cid
  let seconds: Double
  let commitSeconds: Double
}

func writeRepo(dir: String, count: Int, salt: UInt64) async throws -> (RepoStore, Written) {
  let store = try RepoStore(
    config: RepoConfig(directory: dir, quotaMaxBytes: UInt64(count * blockSize) * 2 + (1 << 30)), logger: logger)
  let session = try await store.beginUpload()
  var digests: [[UInt8]] = []
  var cids: [Cid] = []
  var storeTime = 0.0
  var i = 0
  while i < count {
    let n = min(batch, count - i)
    let blocks = (i..<i + n).map { Block(data: makeBlockData($0, salt: salt)) }  // hashing not timed
    let t0 = now()
    try await session.add(blocks)
    storeTime += now() - t0
    digests += blocks.map { $0.cid.multihash.digest }
    cids += blocks.map(\.cid)
    i += n
  }
  let tree = try CodexTree(leaves: digests)
  let leaves = try cids.indices.map { (blockCid: cids[$0], proof: try tree.proof(for: $0)) }
  let manifest = Manifest(treeCid: tree.rootCid, datasetSize: UInt64(count * blockSize))
  let t0 = now()
  try await session.commit(treeCid: tree.rootCid, leaves: leaves, manifest: manifest.block)
  let commitTime = now() - t0
  storeTime += commitTime
  return (store, Written(treeCid: tree.rootCid, seconds: storeTime, commitSeconds: commitTime))
}

func readAll(_ store: RepoStore, tree: Cid, count: Int, tasks: Int) async throws -> Double {
  let t0 = now()
  let bytes = try await withThrowingTaskGroup(of: Int.self) { group in
    for t in 0..<tasks {
      group.addTask {
        var total = 0
        var i = t
        while i < count {
          guard let d = try await store.blockData(tree: tree, index: i) else { fatalError("leaf \(i) missing") }
          total += d.count
          i += tasks
        }
        return total
      }
    }
    return try await group.reduce(0, +)
  }
  precondition(bytes == count * blockSize)
  return mbps(bytes, now() - t0)
}

let repoDir = root + "/repo"
let (store, written) = try await writeRepo(dir: repoDir, count: blocksCount, salt: 1)
emit(
  "repo_upload_write", mbps(totalBytes, written.seconds), "MB/s", baseline: ("pwrite_fdatasync_batch", pw),
  extra: "\"bytes\":\(totalBytes),\"batch_blocks\":\(batch)")
emit("repo_upload_commit", written.commitSeconds, "s", extra: "\"leaves\":\(blocksCount)")

func writeRepoBatches(dir: String, count: Int, salt: UInt64) async throws -> Written {
  let store = try RepoStore(
    config: RepoConfig(directory: dir, quotaMaxBytes: UInt64(count * blockSize) * 2 + (1 << 30)), logger: logger)
  let session = try await store.beginUpload()
  // Two buffers: the store may still be writing one (its write overlaps the next batch's) when the other is added.
  let buffers = [BlockBatch(capacity: batch), BlockBatch(capacity: batch)]
  var storeTime = 0.0
  var i = 0
  var turn = 0
  while i < count {
    let n = min(batch, count - i)
    let buffer = buffers[turn % 2]
    turn += 1
    let w0 = now()
    await buffer.released()  // timed: it is the store's write
    storeTime += now() - w0
    buffer.reset()
    for k in i..<i + n { _ = makeBlockData(k, salt: salt).withUnsafeBytes { buffer.append($0) } }
    await buffer.hashAll()  // not timed
    let t0 = now()
    try await session.addLeaves(buffer)
    storeTime += now() - t0
    i += n
  }
  let t0 = now()
  try await session.flush()
  let treeCid = try session.buildTree()
  try await session.commit(manifest: Manifest(treeCid: treeCid, datasetSize: UInt64(count * blockSize)).block)
  let commitTime = now() - t0
  await store.close()
  return Written(treeCid: treeCid, seconds: storeTime + commitTime, commitSeconds: commitTime)
}
do {
  let w = try await writeRepoBatches(dir: root + "/repo-batches", count: blocksCount, salt: 2)
  emit(
    "repo_leaf_batches_write", mbps(totalBytes, w.seconds), "MB/s", baseline: dd.map { ("dd_zero_fdatasync", $0) },
    extra: "\"bytes\":\(totalBytes),\"batch_blocks\":\(batch)")
  emit("repo_leaf_batches_commit", w.commitSeconds, "s", extra: "\"leaves\":\(blocksCount)")
  try? FileManager.default.removeItem(atPath: root + "/repo-batches")
}

let r1 = try await readAll(store, tree: written.treeCid, count: blocksCount, tasks: 1)
// pread baseline over the same pack files, no metadata.
func preadBaseline() -> Double {
  let packDir = repoDir + "/packs"
  let names = ((try? FileManager.default.contentsOfDirectory(atPath: packDir)) ?? []).sorted()
  var buf = [UInt8](repeating: 0, count: blockSize)
  var total = 0
  let t0 = now()
  for name in names {
    let fd = open(packDir + "/" + name, O_RDONLY)
    var off = 0
    while true {
      let n = pread(fd, &buf, blockSize, off_t(off))
      if n <= 0 { break }
      total += n
      off += blockSize
    }
    close(fd)
  }
  return mbps(total, now() - t0)
}
let pr = preadBaseline()
emit("pread_baseline", pr, "MB/s")
emit("repo_read_blockdata_1task", r1, "MB/s", baseline: ("pread_baseline", pr))
let r4 = try await readAll(store, tree: written.treeCid, count: blocksCount, tasks: 4)
emit("repo_read_blockdata_4tasks", r4, "MB/s", baseline: ("pread_baseline", pr))
do {
  let t0 = now()
  var total = 0
  for i in 0..<blocksCount {
    guard let (b, _) = try await store.getBlock(tree: written.treeCid, index: i) else { fatalError("missing \(i)") }
    total += b.data.count
  }
  emit("repo_read_getblock_proof", mbps(total, now() - t0), "MB/s", baseline: ("pread_baseline", pr))
}
do {
  let t0 = now()
  let manifestCid = try await store.manifests().first!.cid
  try await store.deleteDataset(manifestCid: manifestCid)
  emit("repo_delete_dataset", now() - t0, "s", extra: "\"bytes\":\(totalBytes)")
}
await store.close()

// MARK: inline SQLite blobs vs packs, same amount of data

let inlineCount = inlineMiB * 1024 * 1024 / blockSize
func inlineSQLite() throws -> (write: Double, read: Double) {
  var config = Configuration()
  config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
  let pool = try DatabasePool(path: root + "/inline.sqlite", configuration: config)
  try pool.write { db in try db.execute(sql: "CREATE TABLE b (cid BLOB PRIMARY KEY, data BLOB NOT NULL)") }
  var keys: [Data] = []
  var storeTime = 0.0
  var i = 0
  while i < inlineCount {
    let n = min(batch, inlineCount - i)
    let blocks = (i..<i + n).map { Block(data: makeBlockData($0, salt: 3)) }
    let t0 = now()
    try pool.write { db in
      let st = try db.cachedStatement(sql: "INSERT INTO b (cid, data) VALUES (?, ?)")
      for blk in blocks { try st.execute(arguments: [Data(blk.cid.bytes), Data(blk.data)]) }
    }
    storeTime += now() - t0
    keys += blocks.map { Data($0.cid.bytes) }
    i += n
  }
  let t1 = now()
  try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
  storeTime += now() - t1
  let t0 = now()
  var total = 0
  for k in keys {
    let d = try pool.read { db in
      try Data.fetchOne(db.cachedStatement(sql: "SELECT data FROM b WHERE cid = ?"), arguments: [k])
    }
    total += [UInt8](d!).count
  }
  let read = mbps(total, now() - t0)
  try pool.close()
  return (mbps(inlineCount * blockSize, storeTime), read)
}

let inline = try inlineSQLite()
let (small, smallWritten) = try await writeRepo(dir: root + "/repo-small", count: inlineCount, salt: 5)
let smallRead = try await readAll(small, tree: smallWritten.treeCid, count: inlineCount, tasks: 1)
await small.close()
let smallWrite = mbps(inlineCount * blockSize, smallWritten.seconds)
emit(
  "inline_sqlite_write", inline.write, "MB/s", baseline: ("repo_upload_write_same_size", smallWrite),
  extra: "\"bytes\":\(inlineCount * blockSize)")
emit(
  "inline_sqlite_read", inline.read, "MB/s", baseline: ("repo_read_blockdata_same_size", smallRead),
  extra: "\"bytes\":\(inlineCount * blockSize)")
