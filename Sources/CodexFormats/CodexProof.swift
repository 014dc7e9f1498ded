import Multiformats

/// A Merkle inclusion proof in a Codex tree, and its protobuf encoding (`formats.md` §4.2, §4.4).
public struct CodexProof: Sendable, Hashable {
  /// The tree's hash code: sha2-256 for dataset trees, identity for slot trees.
  public let mcodec: Multicodec
  /// The leaf index.
  public let index: Int
  /// The number of leaves in the tree.
  public let leafCount: Int
  /// Sibling digests, bottom to top.
  public let path: [[UInt8]]

  public init(mcodec: Multicodec, index: Int, leafCount: Int, path: [[UInt8]]) {
    self.mcodec = mcodec
    self.index = index
    self.leafCount = leafCount
    self.path = path
  }

  /// Recomputes the root from `leaf` (a 32-byte SHA-256 digest) along this proof's path.
  public func reconstructRoot(leaf: [UInt8]) throws(FormatError) -> [UInt8] {
    try foldPath(leaf: leaf) { _, _, left, right, key in CodexTree.compress(left, right, key: key) }
  }

  /// Walks the path from `leaf` up: at each level, `node(level, index of the parent, left, right, key)` gives the
  /// parent of the running hash and the path entry (ordered, with the Codex tree's key: bottom level, odd last
  /// node). Returns the last parent, the root.
  /// - Throws: `FormatError.invalidProof` for a non-SHA-256 proof, a bad leaf, index or path entry.
  func foldPath(
    leaf: [UInt8], _ node: (_ level: Int, _ parent: Int, _ left: [UInt8], _ right: [UInt8], _ key: UInt8) -> [UInt8]
  ) throws(FormatError) -> [UInt8] {
    guard mcodec == .sha2_256 else { throw .invalidProof("only sha2-256 proofs can be checked here, not \(mcodec)") }
    guard leaf.count == 32 else { throw .invalidProof("leaf must be 32 bytes") }
    guard index >= 0, index < leafCount else { throw .invalidProof("index \(index) not below leaf count \(leafCount)") }
    var h = leaf
    var j = index
    var m = leafCount
    var bottom: UInt8 = 1
    for (level, p) in path.enumerated() {
      guard p.count == 32 else { throw .invalidProof("path entries must be 32 bytes") }
      if j & 1 == 1 {
        h = node(level, j >> 1, p, h, bottom)
      } else {
        h = node(level, j >> 1, h, p, j == m - 1 ? bottom + 2 : bottom)
      }
      bottom = 0
      j >>= 1
      m = (m + 1) >> 1
    }
    return h
  }

  /// True if `leaf` is at `index` of the tree whose root is `root`. Both are multihashes and their codes must
  /// equal the proof's code (the correct check; upstream's CID overload is buggy, `formats.md` §7 #5).
  public func verify(leaf: Multihash, root: Multihash) -> Bool {
    guard leaf.code == mcodec, root.code == mcodec else { return false }
    guard let computed = try? reconstructRoot(leaf: leaf.digest) else { return false }
    return computed == root.digest
  }

  /// The protobuf encoding: `1: mcodec, 2: index, 3: nleaves, 4: {1: node}` per path entry.
  public var encoded: [UInt8] {
    var w = ProtobufWriter()
    w.write(1, varint: mcodec.rawValue)
    w.write(2, varint: UInt64(index))
    w.write(3, varint: UInt64(leafCount))
    for node in path {
      var inner = ProtobufWriter()
      inner.write(1, bytes: node)
      w.write(4, message: inner)
    }
    return w.bytes
  }

  /// Decodes the protobuf encoding.
  /// - Throws: `FormatError` for malformed bytes or values that cannot be a proof.
  public init(encoded: some Collection<UInt8>) throws(FormatError) {
    let r = try ProtobufReader(encoded)
    guard let code = r.varint(1) else { throw .invalidField(message: "proof", field: "mcodec") }
    guard let index = r.varint(2), index < UInt64(Int.max) else {
      throw .invalidField(message: "proof", field: "index")
    }
    guard let n = r.varint(3), n < UInt64(Int.max), n > 0 else {
      throw .invalidField(message: "proof", field: "nleaves")
    }
    var path: [[UInt8]] = []
    for entry in r.repeatedBytes(4) {
      let inner = try ProtobufReader(entry)
      guard let node = inner.bytes(1) else { throw .invalidField(message: "proof", field: "path node") }
      path.append(node)
    }
    guard path.count <= 64 else { throw .invalidProof("path of \(path.count) entries is longer than any tree") }
    self.init(mcodec: Multicodec(rawValue: code), index: Int(index), leafCount: Int(n), path: path)
  }
}

extension CodexProof {
  /// The canonical encoding (`encoded`) of the proof in `bytes`: `bytes` itself, without decoding, when it already
  /// is exactly what `CodexProof(encoded: bytes).encoded` would return (minimal varints, fields 1, 2, 3 then one
  /// `{1: node}` per path entry and nothing else, values the decoder accepts), else that re-encoding. Stored proofs
  /// are written as `encoded`, so serving them takes the first way.
  /// - Throws: what `init(encoded:)` throws, for bytes that do not decode.
  public static func canonicalEncoding(_ bytes: [UInt8]) throws(FormatError) -> [UInt8] {
    if isCanonicalEncoding(bytes) { return bytes }
    return try CodexProof(encoded: bytes).encoded
  }

  /// True if `bytes` decode to a proof whose `encoded` is `bytes` again (checked by scanning, no allocation).
  /// False answers may be conservative: such bytes take the decoding path.
  static func isCanonicalEncoding(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { b in
      var i = 0
      // A minimal (as `Varint.append` writes them) varint at `i`, or nil.
      func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var n = 0
        while i < b.count, n < 10 {
          let byte = b[i]
          i += 1
          n += 1
          if n == 10 && byte > 1 { return nil }
          value |= UInt64(byte & 0x7f) << shift
          if byte & 0x80 == 0 { return n > 1 && byte == 0 ? nil : value }
          shift += 7
        }
        return nil
      }
      func key(_ k: UInt8) -> Bool {
        guard i < b.count, b[i] == k else { return false }
        i += 1
        return true
      }
      guard key(0x08), varint() != nil else { return false }
      guard key(0x10), let index = varint(), index < UInt64(Int.max) else { return false }
      guard key(0x18), let n = varint(), n > 0, n < UInt64(Int.max) else { return false }
      var entries = 0
      while i < b.count {
        guard key(0x22), let length = varint(), length <= UInt64(b.count - i) else { return false }
        let end = i + Int(length)
        guard key(0x0a), let nodeLength = varint(), i <= end, nodeLength == UInt64(end - i) else { return false }
        i = end
        entries += 1
        guard entries <= 64 else { return false }
      }
      return true
    }
  }
}
