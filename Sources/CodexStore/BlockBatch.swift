import CStoreSupport
import CodexFormats
import Foundation
import Multiformats
import Synchronization

/// Consecutive blocks of one size laid back to back in one page-aligned buffer, with their SHA-256 digests: the
/// unit an upload hands to `UploadSession.addLeaves`.
///
/// Bytes are copied in once (`append`), hashed in place (`hash(blocks:)`, callable for disjoint ranges from
/// several threads at once; 16 blocks per call of the AVX-512 multi-lane SHA-256 where the CPU has it) and written
/// to a pack with one `pwritev` that can bypass the page cache because the buffer is aligned. A batch is reused
/// after `reset()`, so an upload allocates its buffers once.
///
/// Concurrency contract (hence `@unchecked Sendable`): one owner fills it; while it is being hashed or stored
/// nobody appends to it; `hash(blocks:)` calls from several threads must use disjoint ranges. The store may keep
/// writing a batch after `UploadSession.addLeaves` returned (its pack write overlaps the next batch's): the owner
/// awaits `released()` before it resets and refills the batch.
public final class BlockBatch: @unchecked Sendable {
  /// Bytes per block.
  public let blockSize: Int
  /// Blocks the buffer holds.
  public let capacity: Int
  private let bytes: UnsafeMutableRawPointer
  private let digestBytes: UnsafeMutableRawPointer
  /// CRC-32C of each block (the repo's stored checksum), computed with the digest while the bytes are in cache.
  private let crcs: UnsafeMutablePointer<UInt32>
  /// Bytes filled so far (blocks are complete up to `filled / blockSize`).
  public private(set) var filled = 0
  /// Whether the store still reads the buffer (see `hold()`), and who waits for it to let go.
  private let storeHold = Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

  /// Makes an empty batch for `capacity` blocks of `blockSize` bytes (a multiple of 4096).
  public init(blockSize: Int = Codex.defaultBlockSize, capacity: Int) {
    precondition(blockSize > 0 && blockSize % 4096 == 0 && capacity > 0, "block size must be a multiple of 4096")
    self.blockSize = blockSize
    self.capacity = capacity
    var p: UnsafeMutableRawPointer?
    guard posix_memalign(&p, 4096, blockSize * capacity) == 0, let p else {
      fatalError("out of memory allocating a \(blockSize * capacity)-byte block batch")
    }
    bytes = p
    digestBytes = .allocate(byteCount: 32 * capacity, alignment: 16)
    crcs = .allocate(capacity: capacity)
  }

  deinit {
    free(bytes)
    digestBytes.deallocate()
    crcs.deallocate()
  }

  /// Complete blocks (after `padLastBlock()`, every block).
  public var count: Int { filled / blockSize }
  /// True when no more bytes fit.
  public var isFull: Bool { filled == blockSize * capacity }
  /// True when nothing was appended since the last reset.
  public var isEmpty: Bool { filled == 0 }

  /// Copies as many bytes of `source` as fit; returns how many were taken.
  public func append(_ source: UnsafeRawBufferPointer) -> Int {
    let n = min(source.count, blockSize * capacity - filled)
    if n > 0, let base = source.baseAddress { (bytes + filled).copyMemory(from: base, byteCount: n) }
    filled += n
    return n
  }

  /// Zero-pads a partly filled last block to a whole block (`formats.md` §3: the last block is zero-padded).
  public func padLastBlock() {
    let rest = filled % blockSize
    guard rest != 0 else { return }
    (bytes + filled).initializeMemory(as: UInt8.self, repeating: 0, count: blockSize - rest)
    filled += blockSize - rest
  }

  /// Empties the batch for reuse. The store must have released it (`released()`).
  public func reset() {
    precondition(!isHeld, "a block batch was reset while the store was still writing it; await released() first")
    filled = 0
  }

  /// True while the store still writes the batch's bytes (between `addLeaves` and the end of that write).
  public var isHeld: Bool { storeHold.withLock { $0.held } }

  /// Returns once the store no longer reads the batch: at once if it does not, else when its pack write ended and
  /// the batch was committed or rolled back (at the latest when the session's next `addLeaves`, `commit` or
  /// `abort` ran, or any other write of the store).
  public func released() async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let now = storeHold.withLock { s -> Bool in
        guard s.held else { return true }
        s.waiters.append(c)
        return false
      }
      if now { c.resume() }
    }
  }

  /// Marks the batch as being written by the store (`released()` then waits for `release()`).
  func hold() { storeHold.withLock { $0.held = true } }

  /// Ends `hold()`, waking whoever waits in `released()`.
  func release() {
    let waiters = storeHold.withLock { s -> [CheckedContinuation<Void, Never>] in
      s.held = false
      defer { s.waiters = [] }
      return s.waiters
    }
    for w in waiters { w.resume() }
  }

  /// Computes the SHA-256 (and the CRC-32C checksum) of blocks `range` (all complete). Disjoint ranges may be
  /// hashed concurrently.
  ///
  /// `method` groups the blocks: 16 at a time through the AVX-512 lanes, 2 at a time through the interleaved SHA
  /// extensions, or one at a time with swift-crypto (`SHA256Method`); a method this CPU cannot run falls back to
  /// one at a time. Each group's checksums are computed right after its hashes, while its bytes are still in the
  /// cache.
  public func hash(blocks range: Range<Int>, method: SHA256Method = .preferred) {
    precondition(range.lowerBound >= 0 && range.upperBound <= count, "hashing blocks that are not complete")
    var i = range.lowerBound
    switch method {
    case .lanes:
      while i < range.upperBound {
        let n = min(method.groupSize, range.upperBound - i)
        let start = (bytes + i * blockSize).assumingMemoryBound(to: UInt8.self)
        let out = (digestBytes + 32 * i).assumingMemoryBound(to: UInt8.self)
        guard cstore_sha256_lanes(start, blockSize, blockSize, Int32(n), out) == 0 else { break }
        checksum(blocks: i..<i + n)
        i += n
      }
    case .pairs:
      while i + 1 < range.upperBound {
        let a = (bytes + i * blockSize).assumingMemoryBound(to: UInt8.self)
        let out = (digestBytes + 32 * i).assumingMemoryBound(to: UInt8.self)
        guard cstore_sha256_pair(a, a + blockSize, blockSize, out, out + 32) == 0 else { break }
        checksum(blocks: i..<i + 2)
        i += 2
      }
    case .single:
      break
    }
    while i < range.upperBound {
      let block = UnsafeRawBufferPointer(start: bytes + i * blockSize, count: blockSize)
      let digest = SHA256Hashing.digest(block)
      digest.withUnsafeBytes { (digestBytes + 32 * i).copyMemory(from: $0.baseAddress!, byteCount: 32) }
      crcs[i] = BlockChecksum.crc32c(block)
      i += 1
    }
  }

  /// Computes the CRC-32C checksums of blocks `range`.
  private func checksum(blocks range: Range<Int>) {
    for k in range {
      crcs[k] = BlockChecksum.crc32c(UnsafeRawBufferPointer(start: bytes + k * blockSize, count: blockSize))
    }
  }

  /// Hashes every complete block, split over the cores (runs on the cooperative pool, not the caller's thread).
  /// The parts are whole groups of the preferred method (`SHA256Method.groupSize`), so no call runs short but the
  /// last.
  public func hashAll() async {
    let n = count
    let unit = SHA256Method.preferred.groupSize
    let units = (n + unit - 1) / unit
    let parts = min(units, max(1, ProcessInfo.processInfo.activeProcessorCount))
    if parts <= 1 {
      hash(blocks: 0..<n)
      return
    }
    await withTaskGroup(of: Void.self) { group in
      for p in 0..<parts {
        let range = min(n, units * p / parts * unit)..<min(n, units * (p + 1) / parts * unit)
        group.addTask { self.hash(blocks: range) }
      }
    }
  }

  /// The bytes of block `i`.
  public func block(_ i: Int) -> UnsafeRawBufferPointer {
    precondition(i >= 0 && i < count, "block index out of range")
    return UnsafeRawBufferPointer(start: bytes + i * blockSize, count: blockSize)
  }

  /// The SHA-256 digest of block `i` (valid after it was hashed).
  public func digest(_ i: Int) -> UnsafeRawBufferPointer {
    precondition(i >= 0 && i < count, "block index out of range")
    return UnsafeRawBufferPointer(start: digestBytes + 32 * i, count: 32)
  }

  /// The CRC-32C of block `i` (valid after it was hashed).
  public func crc(_ i: Int) -> UInt32 {
    precondition(i >= 0 && i < count, "block index out of range")
    return crcs[i]
  }

  /// The `codex-block` CID of block `i` (valid after it was hashed).
  public func cid(_ i: Int) -> Cid {
    Cid(codec: .codexBlock, multihash: Multihash(code: .sha2_256, digest: Array(digest(i))))
  }

  /// All digests of the complete blocks, back to back.
  var digests: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: digestBytes, count: 32 * count) }
}
