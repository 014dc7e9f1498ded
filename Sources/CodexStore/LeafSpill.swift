import CodexFormats
import Foundation
import Multiformats

#if canImport(Glibc)
  import Glibc
#endif

/// The leaf digests of one upload, in upload order, kept in an unlinked temporary file in the repo directory (so
/// a crash leaves nothing behind), and the dataset Merkle tree built over them layer by layer in the same file.
///
/// Memory stays bounded for any dataset size: appends go through a 64 KiB buffer, the tree is built reading and
/// writing 64 KiB at a time, and proofs are produced in leaf order with one small sliding window per layer.
/// The tree is exactly `CodexTree`'s (`formats.md` §4.1: key 1 on the bottom layer, 0 above, an odd last node is
/// compressed with zeros and key 3 / 2).
///
/// Not thread-safe: the owning `UploadSession` serializes every call.
final class LeafSpill {
  private let fd: Int32
  private let path: String
  private var pending: [UInt8] = []
  /// Leaves appended so far.
  private(set) var count = 0
  /// Layers of the built tree, bottom first: byte offset in the file and number of digests.
  private(set) var layers: [(offset: UInt64, count: Int)] = []
  /// The root digest once `buildTree()` ran.
  private(set) var root: [UInt8]?

  static let chunkDigests = 2048

  /// Creates the temporary file in `directory`.
  init(directory: String) throws(StoreError) {
    var template = Array((directory + "/.upload-leaves-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      throw .io("cannot create an upload's leaf file in \(directory): \(PackFiles.errnoText())")
    }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    self.fd = fd
    path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    // Unlinked at once: the file lives as long as the descriptor, so a crash leaves no garbage.
    _ = unlink(path)
    pending.reserveCapacity(64 * 1024)
  }

  deinit { close(fd) }

  /// Appends leaf digests (32 bytes each).
  func append(_ digests: UnsafeRawBufferPointer) throws(StoreError) {
    precondition(root == nil && digests.count % 32 == 0, "appending leaves after the tree was built")
    pending.append(contentsOf: digests)
    count += digests.count / 32
    if pending.count >= 64 * 1024 { try flush() }
  }

  private func flush() throws(StoreError) {
    guard !pending.isEmpty else { return }
    let offset = UInt64(count - pending.count / 32) * 32
    try write(pending[...], at: offset)
    pending.removeAll(keepingCapacity: true)
  }

  /// Builds the tree over the appended leaves; returns the root digest.
  /// - Throws: `StoreError.invalidArgument` without leaves, `.io` when the file cannot be written or read.
  @discardableResult
  func buildTree() throws(StoreError) -> [UInt8] {
    if let root { return root }
    guard count > 0 else { throw .invalidArgument("a dataset tree needs at least one leaf") }
    try flush()
    var layers = [(offset: UInt64(0), count: count)]
    var end = UInt64(count) * 32
    var bottom = true
    while true {
      let (offset, m) = layers[layers.count - 1]
      if !bottom && m == 1 { break }
      let parentCount = (m + 1) / 2
      var i = 0
      var out: [UInt8] = []
      out.reserveCapacity(Self.chunkDigests * 16)
      var outOffset = end
      while i < m {
        let take = min(Self.chunkDigests, m - i)  // an even number unless it reaches the layer's end
        let chunk = try read(at: offset + UInt64(i) * 32, count: take * 32)
        var k = 0
        while k + 1 < take {
          out += CodexTree.compress(
            Array(chunk[32 * k..<32 * k + 32]), Array(chunk[32 * k + 32..<32 * k + 64]),
            key: bottom ? 1 : 0)
          k += 2
        }
        if k < take {
          out += CodexTree.compress(Array(chunk[32 * k..<32 * k + 32]), Self.zero, key: bottom ? 3 : 2)
        }
        i += take
        try write(out[...], at: outOffset)
        outOffset += UInt64(out.count)
        out.removeAll(keepingCapacity: true)
      }
      layers.append((end, parentCount))
      end += UInt64(parentCount) * 32
      bottom = false
    }
    self.layers = layers
    let top = layers[layers.count - 1]
    let root = try read(at: top.offset, count: 32)
    self.root = root
    return root
  }

  static let zero = [UInt8](repeating: 0, count: 32)

  /// Walks the leaves in order with their proofs (after `buildTree()`), calling `body(index, leafDigest, proof)`.
  func forEachLeaf(_ body: (Int, [UInt8], CodexProof) throws -> Void) throws {
    precondition(root != nil, "build the tree first")
    let depth = layers.count - 1
    let window = Self.chunkDigests  // even, so a node and its sibling share a window
    var starts = [Int](repeating: -1, count: layers.count)
    var windows = [[UInt8]](repeating: [], count: layers.count)
    func node(_ layer: Int, _ j: Int) throws(StoreError) -> [UInt8] {
      let (offset, n) = layers[layer]
      guard j < n else { return Self.zero }
      if starts[layer] < 0 || j < starts[layer] || j >= starts[layer] + windows[layer].count / 32 {
        let start = j / window * window
        windows[layer] = try read(at: offset + UInt64(start) * 32, count: min(window, n - start) * 32)
        starts[layer] = start
      }
      let at = (j - starts[layer]) * 32
      return Array(windows[layer][at..<at + 32])
    }
    for i in 0..<count {
      var path: [[UInt8]] = []
      path.reserveCapacity(depth)
      var k = i
      for layer in 0..<depth {
        path.append(try node(layer, k ^ 1))
        k >>= 1
      }
      try body(i, try node(0, i), CodexProof(mcodec: .sha2_256, index: i, leafCount: count, path: path))
    }
  }

  /// Walks the leaves in order like `forEachLeaf`, without building `CodexProof` values: `body(index, leafDigest,
  /// encodedProof)` gets the leaf digest and the proof's protobuf encoding (byte for byte `CodexProof.encoded`)
  /// in buffers reused between calls. The commit of a big upload spends most of its CPU here.
  func forEachLeafEncoded(_ body: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
    precondition(root != nil, "build the tree first")
    let depth = layers.count - 1
    let window = Self.chunkDigests  // even, so a node and its sibling share a window
    var starts = [Int](repeating: -1, count: layers.count)
    var windows = [[UInt8]](repeating: [], count: layers.count)
    /// The offset of node `j` of `layer` in `windows[layer]` (loading its window), nil beyond the layer's end.
    func load(_ layer: Int, _ j: Int) throws(StoreError) -> Int? {
      let (offset, n) = layers[layer]
      guard j < n else { return nil }
      if starts[layer] < 0 || j < starts[layer] || j >= starts[layer] + windows[layer].count / 32 {
        let start = j / window * window
        windows[layer] = try read(at: offset + UInt64(start) * 32, count: min(window, n - start) * 32)
        starts[layer] = start
      }
      return (j - starts[layer]) * 32
    }
    // `CodexProof.encoded`: 1: mcodec, 2: index, 3: nleaves, then per path node field 4 holding {1: node}.
    var header: [UInt8] = []
    Varint.append(1 << 3, to: &header)
    Varint.append(Multicodec.sha2_256.rawValue, to: &header)
    let nodeTag: [UInt8] = [4 << 3 | 2, 34, 1 << 3 | 2, 32]
    var proof: [UInt8] = []
    proof.reserveCapacity(header.count + 22 + depth * 36)
    var leaf = [UInt8](repeating: 0, count: 32)
    for i in 0..<count {
      let at = try load(0, i)!
      leaf.withUnsafeMutableBytes { dst in
        windows[0].withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[at..<at + 32])) }
      }
      proof.removeAll(keepingCapacity: true)
      proof.append(contentsOf: header)
      Varint.append(2 << 3, to: &proof)
      Varint.append(UInt64(i), to: &proof)
      Varint.append(3 << 3, to: &proof)
      Varint.append(UInt64(count), to: &proof)
      var k = i
      for layer in 0..<depth {
        proof.append(contentsOf: nodeTag)
        if let at = try load(layer, k ^ 1) {
          proof.append(contentsOf: windows[layer][at..<at + 32])
        } else {
          proof.append(contentsOf: Self.zero)
        }
        k >>= 1
      }
      try leaf.withUnsafeBytes { l in try proof.withUnsafeBytes { p in try body(i, l, p) } }
    }
  }

  private func write(_ bytes: ArraySlice<UInt8>, at offset: UInt64) throws(StoreError) {
    var failure = false
    bytes.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count {
        let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
        if n > 0 {
          done += n
        } else if !(n < 0 && errno == EINTR) {
          failure = true
          return
        }
      }
    }
    if failure { throw StoreError.fromErrno("writing an upload's leaf file in the repo") }
  }

  private func read(at offset: UInt64, count n: Int) throws(StoreError) -> [UInt8] {
    var failure = false
    let out = [UInt8](unsafeUninitializedCapacity: n) { buf, initialized in
      var done = 0
      while done < n {
        let r = pread(fd, buf.baseAddress! + done, n - done, off_t(offset) + off_t(done))
        if r > 0 {
          done += r
        } else if !(r < 0 && errno == EINTR) {
          failure = true
          break
        }
      }
      initialized = failure ? 0 : n
    }
    if failure { throw .io("cannot read an upload's leaf file back: \(PackFiles.errnoText())") }
    return out
  }
}
