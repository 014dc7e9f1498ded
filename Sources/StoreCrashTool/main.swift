// StoreCrashTool: hammers a RepoStore with uploads, aborts, deletes, loose puts and maintenance until it is
// killed. The CodexStore SIGKILL test runs it, kills it at random moments and checks the repo after reopening.
//
// Usage: StoreCrashTool <repo-dir> <seed> [<crash-point> <n>]
// With a crash point (see `RepoConfig.faultHook`), the tool SIGKILLs itself the n-th time the store reaches it.
// Prints "ready" once the store is open, "C <manifest-cid>" after a commit returned and "D <manifest-cid>" before a
// dataset delete starts, each line flushed, so the test knows which datasets must have survived.

import CodexFormats
import CodexStore
import Foundation
import Logging
import Multiformats
import Synchronization

/// Counts fault-hook calls and kills the process at the chosen one.
final class CrashTrigger: Sendable {
  let point: String
  let after: Int
  let seen = Mutex(0)
  init(point: String, after: Int) {
    self.point = point
    self.after = after
  }
  func hit(_ name: String) {
    guard name == point else { return }
    let n = seen.withLock { v -> Int in
      v += 1
      return v
    }
    if n >= after { kill(getpid(), SIGKILL) }
  }
}

struct Rng {
  var state: UInt64
  mutating func next() -> UInt64 {
    state = state &+ 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  mutating func bytes(_ count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
      var v = next()
      for _ in 0..<8 where i < count {
        out[i] = UInt8(truncatingIfNeeded: v)
        v >>= 8
        i += 1
      }
    }
    return out
  }
}

func say(_ line: String) {
  FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let args = CommandLine.arguments
guard args.count >= 3, let seed = UInt64(args[2]) else {
  FileHandle.standardError.write(Data("usage: StoreCrashTool <repo-dir> <seed>\n".utf8))
  exit(2)
}
var logger = Logger(label: "store-crash-tool")
logger.logLevel = .error
var config = RepoConfig(
  directory: args[1], quotaMaxBytes: 48 * 65536, blockTTL: .seconds(3600), packFileLimit: 1 << 20)
if args.count >= 5, let n = Int(args[4]) {
  let trigger = CrashTrigger(point: args[3], after: n)
  config.faultHook = { trigger.hit($0) }
}
let store = try RepoStore(config: config, logger: logger)
say("ready")

var rng = Rng(state: seed)
// A pool of block contents reused across datasets so that trees share blocks.
let shared = (0..<12).map { _ in Block(data: rng.bytes(65536)) }
// Datasets committed by earlier runs on this repo count as committed: without them a repo that earlier rounds
// filled up could never make room (only datasets this process knows are deleted when the quota is hit), and the
// tool then looped on quota errors without ever reaching a pack write or a delete again (the drill's rare
// "never reached pack-written" timeouts).
var committed: [Cid] = try await store.manifests().map(\.cid)
while true {
  let action = rng.below(10)
  do {
    switch action {
    case 0..<5:
      // Upload a dataset of 1-8 blocks, some shared; sometimes abort, sometimes leave it hanging.
      let n = 1 + rng.below(8)
      var blocks: [Block] = []
      for _ in 0..<n {
        if rng.below(3) == 0 {
          blocks.append(shared[rng.below(shared.count)])
        } else {
          blocks.append(Block(data: rng.bytes(rng.below(4) == 0 ? 1000 + rng.below(3000) : 65536)))
        }
      }
      let tree = try CodexTree(leaves: blocks.map { $0.cid.multihash.digest })
      let manifest = Manifest(
        treeCid: tree.rootCid, datasetSize: UInt64(n * 65536), filename: "f\(rng.next() % 1000)")
      let session = try await store.beginUpload()
      // Whole 64 KiB blocks go through the upload fast path (BlockBatch, addLeaves) half of the time.
      let batched = blocks.allSatisfy { $0.data.count == 65536 } && rng.below(2) == 0
      var start = 0
      while start < n {
        let end = min(n, start + 1 + rng.below(4))
        if batched {
          let batch = BlockBatch(capacity: end - start)
          for b in blocks[start..<end] { _ = b.data.withUnsafeBytes { batch.append($0) } }
          await batch.hashAll()
          try await session.addLeaves(batch)
        } else {
          try await session.add(Array(blocks[start..<end]))
        }
        start = end
      }
      switch rng.below(6) {
      case 0: await session.abort()
      default:
        if batched {
          try await session.commit(manifest: manifest.block)
        } else {
          let leaves = try blocks.indices.map { (blocks[$0].cid, try tree.proof(for: $0)) }
          try await session.commit(treeCid: tree.rootCid, leaves: leaves, manifest: manifest.block)
        }
        committed.append(manifest.block.cid)
        say("C \(manifest.block.cid)")
      }
    case 5, 6:
      guard !committed.isEmpty else { continue }
      let cid = committed.remove(at: rng.below(committed.count))
      say("D \(cid)")
      try await store.deleteDataset(manifestCid: cid)
    case 7 where rng.below(2) == 0:
      // Fetched leaves, as the block exchange stores them: pipelined batches (`startLeafBlocks`), the last one
      // settled or left for the next write. Expired at once (no dataset lists them): maintenance takes them back.
      let n = 2 + rng.below(8)
      let blocks = (0..<n).map { i in i % 3 == 2 ? shared[rng.below(shared.count)] : Block(data: rng.bytes(65536)) }
      let tree = try CodexTree(leaves: blocks.map { $0.cid.multihash.digest })
      var tickets: [StoreTicket] = []
      var start = 0
      while start < n {
        let end = min(n, start + 1 + rng.below(4))
        let leaves = try (start..<end).map {
          (tree: tree.rootCid, index: $0, block: blocks[$0], proof: try tree.proof(for: $0))
        }
        tickets.append(try await store.startLeafBlocks(leaves, ttl: .seconds(0)))
        start = end
      }
      if rng.below(2) == 0 { await store.settleLeafBlocks() }
      for t in tickets.dropLast() { try await t.wait() }
    case 7:
      try await store.putBlock(Block(data: rng.bytes(rng.below(2) == 0 ? 500 : 65536)), ttl: .seconds(0))
    case 8:
      try await store.runMaintenanceCycle()
    default:
      try await store.reserve(bytes: 1000)
      try await store.release(bytes: 1000)
    }
  } catch StoreError.quotaExceeded {
    // Full: make room.
    if !committed.isEmpty {
      let cid = committed.removeFirst()
      say("D \(cid)")
      try await store.deleteDataset(manifestCid: cid)
    }
    try await store.runMaintenanceCycle()
  }
}
