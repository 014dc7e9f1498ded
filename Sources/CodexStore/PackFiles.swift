import CStoreSupport
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The pack files of a repo (`<dir>/packs/NNNNNN.pack`): append-only files holding block bytes at 4 KiB-aligned
/// offsets, with their file descriptors kept open for the life of the store.
///
/// Locking: `lock` is taken shared by every read (around the metadata lookup *and* the `pread`, so a block found
/// in the database cannot have its bytes punched out before it is read) and exclusively to add a descriptor or
/// punch holes. Writes of new bytes need no lock: they go beyond every committed offset, which no reader can see.
final class PackFiles: @unchecked Sendable {
  /// Alignment of every block in a pack; also the granularity of hole punching.
  static let alignment: UInt64 = 4096

  let directory: String
  let lock = ReadWriteLock()
  /// Pack id → open descriptor. Mutated only under the write lock; read under either lock.
  private var fds: [Int64: Int32] = [:]
  /// Pack id → a second, write-only O_DIRECT descriptor for aligned batch writes (`write(pack:offset:segments:)`,
  /// up to two upload batches' at once). Mutated under the write lock, read under the read lock.
  private var directFds: [Int64: Int32] = [:]
  /// Pack id → a read-only O_DIRECT descriptor for `readSpans(_:)`, opened with the pack; absent when the file system has
  /// no direct I/O. Mutated only under the write lock.
  private var directReadFds: [Int64: Int32] = [:]
  /// Set once the file system refused direct I/O; later batch writes go through the page cache.
  private var directUnsupported = false
  /// Tests set it to make that many of the next `write(pack:offset:segments:)` calls fail as a full or broken disk
  /// would; `injectedWriteFailures` counts the failures that happened.
  let failNextWritesForTesting = Atomic<Int>(0)
  let injectedWriteFailures = Atomic<Int>(0)
  private var closed = false

  init(directory: String) {
    self.directory = directory
  }

  static func align(_ n: UInt64) -> UInt64 { (n + alignment - 1) & ~(alignment - 1) }

  func path(_ id: Int64) -> String {
    var digits = String(id)
    if digits.count < 6 { digits = String(repeating: "0", count: 6 - digits.count) + digits }
    return directory + "/" + digits + ".pack"
  }

  /// The pack id encoded in a file name, or nil for anything else.
  static func packID(fileName: String) -> Int64? {
    guard fileName.hasSuffix(".pack") else { return nil }
    let stem = fileName.dropLast(5)
    guard !stem.isEmpty, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return Int64(stem)
  }

  /// The descriptor of an open pack. The caller holds `lock` (either mode).
  func descriptor(_ id: Int64) -> Int32? { fds[id] }

  /// Opens (creating if needed) pack `id` and keeps its descriptor. Idempotent.
  @discardableResult
  func open(_ id: Int64) throws(StoreError) -> Int32 {
    try lock.withWriteLock { () throws(StoreError) -> Int32 in
      guard !closed else { throw StoreError.invalidArgument("the store is closed") }
      if let fd = fds[id] { return fd }
      let p = path(id)
      let fd = p.withCString { Glibc.open($0, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
      guard fd >= 0 else { throw StoreError.io("cannot open \(p): \(Self.errnoText())") }
      fds[id] = fd
      let direct = p.withCString { cstore_open_direct_read($0) }
      if direct >= 0 { directReadFds[id] = direct }
      return fd
    }
  }

  /// Reads `count` bytes at `offset` of pack `id`. The caller holds `lock` (either mode).
  func read(pack id: Int64, offset: UInt64, count: Int) throws(StoreError) -> [UInt8] {
    guard let fd = fds[id] else { throw StoreError.corrupt("pack \(path(id)) is missing") }
    var failure: StoreError?
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
      do throws(StoreError) {
        _ = try preadFully(
          fd, pack: id, offset: offset, into: UnsafeMutableRawPointer(buf.baseAddress!), from: 0,
          needed: count, asking: count)
      } catch {
        failure = error
      }
      initialized = failure == nil ? count : 0
    }
    if let failure { throw failure }
    return bytes
  }

  /// Most bytes one system call of `readSpans(_:)` reads.
  static let maxRunBytes: UInt64 = 4 << 20

  /// Reads several byte ranges without copying them out of the read buffers: each range's bytes are a span of one
  /// of `owners`, valid while that buffer lives; spans in the order of `ranges`. The caller holds `lock` (either
  /// mode) while reading; the spans stay valid after it lets go.
  ///
  /// Ranges that lie back to back in one pack (each starting at the aligned end of the one before, as the blocks of
  /// one upload or one fetched batch do) are read with one system call of up to `maxRunBytes`, and aligned runs
  /// bypass the page cache (O_DIRECT). Measured on this kind of machine (virtio disk, 2 cores): reading blocks that
  /// are not cached through the page cache in 64 KiB `pread`s costs ~2.7 CPU-s of kernel time per GiB, direct 1 MiB
  /// reads ~0.1; serving a dataset to a peer is exactly such a read. Falls back to buffered reads where direct I/O
  /// is refused.
  func readSpans(_ ranges: [(pack: Int64, offset: UInt64, count: Int)]) throws(StoreError) -> (
    owners: [AlignedBuffer], spans: [UnsafeRawBufferPointer]
  ) {
    var spans = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: ranges.count)
    var owners: [AlignedBuffer] = []
    let order = ranges.indices.sorted { (ranges[$0].pack, ranges[$0].offset) < (ranges[$1].pack, ranges[$1].offset) }
    var i = 0
    while i < order.count {
      let first = ranges[order[i]]
      var end = Self.align(first.offset + UInt64(first.count))
      var j = i + 1
      while j < order.count {
        let r = ranges[order[j]]
        let next = Self.align(r.offset + UInt64(r.count))
        guard r.pack == first.pack, r.offset == end, next - first.offset <= Self.maxRunBytes else { break }
        end = next
        j += 1
      }
      let last = ranges[order[j - 1]]
      let needed = Int(last.offset - first.offset) + last.count
      let buffer = try readRun(pack: first.pack, offset: first.offset, length: Int(end - first.offset), needed: needed)
      owners.append(buffer)
      for k in order[i..<j] {
        let r = ranges[k]
        spans[k] = buffer.span(Int(r.offset - first.offset), r.count)
      }
      i = j
    }
    return (owners, spans)
  }

  /// Reads at least `needed` of the `length` bytes at `offset` of pack `id` into a new buffer.
  private func readRun(pack id: Int64, offset: UInt64, length: Int, needed: Int) throws(StoreError) -> AlignedBuffer {
    guard let fd = fds[id] else { throw StoreError.corrupt("pack \(path(id)) is missing") }
    let a = Int(Self.alignment)
    let buffer: AlignedBuffer
    do {
      buffer = try AlignedBuffer(count: max(length, a), alignment: a)
    } catch {
      throw .io("cannot allocate \(length) bytes to read \(path(id))")
    }
    var done = 0
    if let direct = directReadFds[id], offset % Self.alignment == 0, length % a == 0 {
      // Where direct I/O is refused (EINVAL), the rest is read through the page cache below.
      done = try preadFully(
        direct, pack: id, offset: offset, into: buffer.base, from: 0, needed: needed, asking: length,
        stopOnEINVAL: true)
    }
    _ = try preadFully(fd, pack: id, offset: offset, into: buffer.base, from: done, needed: needed, asking: needed)
    return buffer
  }

  /// `pread`s `fd` (pack `id`, from `offset`) into `buffer` until at least `needed` bytes are there, asking for up
  /// to `asking` in all, from byte `done` on; retries EINTR and short reads. Returns the bytes read.
  /// - Throws: `.corrupt` when the pack ends first, `.io` on a failed read — except EINVAL with `stopOnEINVAL`
  ///   (direct I/O refused), which returns the count read so far.
  private func preadFully(
    _ fd: Int32, pack id: Int64, offset: UInt64, into buffer: UnsafeMutableRawPointer, from done: Int, needed: Int,
    asking: Int, stopOnEINVAL: Bool = false
  ) throws(StoreError) -> Int {
    var done = done
    while done < needed {
      let n = pread(fd, buffer + done, asking - done, off_t(offset) + off_t(done))
      if n > 0 {
        done += n
      } else if n < 0 && errno == EINTR {
        continue
      } else if n < 0 && errno == EINVAL && stopOnEINVAL {
        break
      } else {
        throw n == 0
          ? .corrupt("pack \(path(id)) ends before byte \(offset + UInt64(needed)) (a block is missing)")
          : .io("read of \(path(id)) failed: \(Self.errnoText())")
      }
    }
    return done
  }

  /// Writes all of `bytes` at `offset` of pack `id` (not synced).
  func write(pack id: Int64, offset: UInt64, bytes: [UInt8]) throws(StoreError) {
    let fd = try descriptorOrThrow(id)
    var failure: StoreError?
    bytes.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count {
        let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
        if n > 0 {
          done += n
        } else if n < 0 && errno == EINTR {
          continue
        } else {
          failure = StoreError.fromErrno("write to \(path(id))")
          return
        }
      }
    }
    if let failure { throw failure }
  }

  /// Writes `segments` back to back at `offset` of pack `id` with one `pwritev` (not synced).
  ///
  /// When `offset` and every segment's address and length are multiples of `alignment`, the bytes bypass the page
  /// cache (O_DIRECT): no copy into the cache and no write-back work later, which on this kind of machine halves
  /// the CPU an upload costs and keeps a big upload from flooding the cache with dirty pages. File systems without
  /// direct I/O (tmpfs) get a buffered write. Either way the bytes are durable only after `sync(pack:)`.
  func write(pack id: Int64, offset: UInt64, segments: [UnsafeRawBufferPointer]) throws(StoreError) {
    var toFail = failNextWritesForTesting.load(ordering: .relaxed)
    while toFail > 0 {
      let (taken, now) = failNextWritesForTesting.compareExchange(
        expected: toFail, desired: toFail - 1, ordering: .relaxed)
      if taken {
        injectedWriteFailures.add(1, ordering: .relaxed)
        throw .io("write to \(path(id)) failed: failure injected by a test")
      }
      toFail = now
    }
    let buffered = try descriptorOrThrow(id)
    let a = Int(Self.alignment)
    let aligned =
      offset % Self.alignment == 0
      && segments.allSatisfy { Int(bitPattern: $0.baseAddress) % a == 0 && $0.count % a == 0 }
    var bases = segments.map { UnsafeRawPointer($0.baseAddress) }
    var lengths = segments.map { Int64($0.count) }
    if aligned, let direct = directDescriptor(id) {
      if cstore_pwritev_all(direct, &bases, &lengths, Int32(segments.count), Int64(offset)) == 0 { return }
      guard errno == EINVAL else { throw StoreError.fromErrno("write to \(path(id))") }
      lock.withWriteLock { directUnsupported = true }
    }
    guard cstore_pwritev_all(buffered, &bases, &lengths, Int32(segments.count), Int64(offset)) == 0 else {
      throw StoreError.fromErrno("write to \(path(id))")
    }
  }

  /// The O_DIRECT descriptor of pack `id`, opened on first use; nil when the file system has no direct I/O.
  private func directDescriptor(_ id: Int64) -> Int32? {
    // Under the lock: two batches' writes (see `RepoStore.storeLeafBatch`) may open descriptors at the same time.
    if let fd = lock.withReadLock({ directFds[id] }) { return fd }
    return lock.withWriteLock { () -> Int32? in
      guard !directUnsupported, !closed, fds[id] != nil else { return nil }
      let fd = path(id).withCString { cstore_open_direct($0) }
      guard fd >= 0 else {
        directUnsupported = true
        return nil
      }
      directFds[id] = fd
      return fd
    }
  }

  /// Makes written bytes of pack `id` durable.
  func sync(pack id: Int64) throws(StoreError) {
    let fd = try descriptorOrThrow(id)
    guard fdatasync(fd) == 0 else { throw StoreError.fromErrno("fdatasync of \(path(id))") }
  }

  /// Cuts pack `id` down to `length` bytes if it is longer (and makes that durable).
  func truncate(pack id: Int64, to length: UInt64) throws(StoreError) {
    let fd = try descriptorOrThrow(id)
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .io("stat of \(path(id)) failed: \(Self.errnoText())") }
    guard UInt64(st.st_size) > length else { return }
    guard ftruncate(fd, off_t(length)) == 0, fdatasync(fd) == 0 else {
      throw .io("truncate of \(path(id)) failed: \(Self.errnoText())")
    }
  }

  /// Size of pack `id` in bytes.
  func size(pack id: Int64) throws(StoreError) -> UInt64 {
    let fd = try descriptorOrThrow(id)
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .io("stat of \(path(id)) failed: \(Self.errnoText())") }
    return UInt64(st.st_size)
  }

  /// Bytes pack `id` occupies on disk.
  func allocatedBytes(pack id: Int64) throws(StoreError) -> UInt64 {
    let fd = try descriptorOrThrow(id)
    let n = cstore_allocated_bytes(fd)
    guard n >= 0 else { throw .io("stat of \(path(id)) failed: \(Self.errnoText())") }
    return UInt64(n)
  }

  /// `ranges` sorted, with adjacent or overlapping ranges of one pack merged and empty ones dropped.
  static func coalesce(
    _ ranges: [(pack: Int64, offset: UInt64, length: UInt64)]
  ) -> [(pack: Int64, offset: UInt64, length: UInt64)] {
    var merged: [(pack: Int64, offset: UInt64, length: UInt64)] = []
    for r in ranges.sorted(by: { ($0.pack, $0.offset) < ($1.pack, $1.offset) }) where r.length > 0 {
      if let last = merged.last, last.pack == r.pack, last.offset + last.length >= r.offset {
        merged[merged.count - 1].length = max(last.length, r.offset + r.length - last.offset)
      } else {
        merged.append(r)
      }
    }
    return merged
  }

  /// Frees the disk space of the given ranges. Takes the write lock for each piece it punches, so no reader is
  /// between its metadata lookup and its `pread` of those bytes. A file system without hole punching just keeps the
  /// bytes (logged by caller).
  func punch(_ ranges: [(pack: Int64, offset: UInt64, length: UInt64)]) -> [String] {
    // Coalesced: each punch can cost a synchronous discard on the device, so a dataset's blocks laid out back to back
    // are released with one call instead of one per block.
    let merged = Self.coalesce(ranges)
    // The write lock is taken for each piece of at most `punchPiece` bytes, not for the whole list: readers wait for
    // one `fallocate` at a time, not for a whole dataset's. Measured here, reading a small file every 5 ms while a
    // 4 GiB dataset was deleted right after its upload: the longest read took 1.7-2.1 s with one lock for the list,
    // 0.5-0.8 s with 256 MiB pieces (delete time unchanged, 3.5-3.9 s) and 0.4-0.6 s with 64 MiB pieces (but the
    // delete took 4.0-4.9 s: each punch has a fixed cost).
    var problems: [String] = []
    for r in merged {
      var offset = r.offset
      let end = r.offset + r.length
      while offset < end {
        let length = min(Self.punchPiece, end - offset)
        lock.withWriteLock {
          guard let fd = fds[r.pack] else { return }
          if cstore_punch_hole(fd, Int64(offset), Int64(length)) != 0 {
            problems.append("punching \(length) bytes at \(offset) of \(path(r.pack)): \(Self.errnoText())")
          }
        }
        offset += length
      }
    }
    return problems
  }

  /// The most bytes one hole punch releases under the write lock (see `punch`).
  static let punchPiece: UInt64 = 256 << 20

  /// Closes and deletes pack `id` (no block may live in it any more). Takes the write lock.
  func remove(_ id: Int64) {
    lock.withWriteLock {
      if let fd = fds.removeValue(forKey: id) { Glibc.close(fd) }
      if let fd = directFds.removeValue(forKey: id) { Glibc.close(fd) }
      if let fd = directReadFds.removeValue(forKey: id) { Glibc.close(fd) }
      _ = unlink(path(id))
    }
  }

  /// Makes the packs directory entry list durable (after creating a pack file).
  func syncDirectory() {
    let fd = directory.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    guard fd >= 0 else { return }
    _ = fsync(fd)
    Glibc.close(fd)
  }

  /// Closes every descriptor; later calls fail.
  func closeAll() {
    lock.withWriteLock {
      for fd in fds.values { Glibc.close(fd) }
      for fd in directFds.values { Glibc.close(fd) }
      for fd in directReadFds.values { Glibc.close(fd) }
      fds.removeAll()
      directFds.removeAll()
      directReadFds.removeAll()
      closed = true
    }
  }

  deinit {
    for fd in fds.values { Glibc.close(fd) }
    for fd in directFds.values { Glibc.close(fd) }
    for fd in directReadFds.values { Glibc.close(fd) }
  }

  private func descriptorOrThrow(_ id: Int64) throws(StoreError) -> Int32 {
    // Under the lock: an upload batch's write runs on another thread while the writer may open the next pack
    // (see `RepoStore.storeLeafBatch`). Callers must not hold `lock` already.
    guard let fd = lock.withReadLock({ fds[id] }) else {
      throw StoreError.invalidArgument("pack \(path(id)) is not open (store closed?)")
    }
    return fd
  }

  /// "No space left on device (errno 28)" for `code` (default: the current `errno`).
  static func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
  }
}
