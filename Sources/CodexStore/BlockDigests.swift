import CStoreSupport
import CodexFormats

/// SHA-256 of many separate blocks at once: groups of equal-length blocks go through the fastest multi-message
/// routine the CPU has (`SHA256Method`: 16 at a time in AVX-512 lanes, or pairs with the SHA extensions), the rest
/// one by one. Used to check a block-exchange message's deliveries against their CIDs.
public enum BlockDigests {
  /// Fewer equal-length blocks than this go one by one through the lanes: a lanes pass costs the same for 1 or 16.
  static let minimumLanesGroup = 8

  /// The SHA-256 digest of each of `blocks`, in order.
  public static func sha256(_ blocks: [[UInt8]], method: SHA256Method = .preferred) -> [[UInt8]] {
    var out = [[UInt8]](repeating: [], count: blocks.count)
    var pending = Array(blocks.indices)
    let minimumGroup = method == .lanes ? minimumLanesGroup : method.groupSize
    if method != .single {
      // Blocks of one length in groups of the method's size (the lanes need a multiple of 64 bytes).
      var byLength: [Int: [Int]] = [:]
      for i in blocks.indices where !blocks[i].isEmpty && (method != .lanes || blocks[i].count % 64 == 0) {
        byLength[blocks[i].count, default: []].append(i)
      }
      var done = Set<Int>()
      for (length, members) in byLength {
        var start = 0
        while members.count - start >= minimumGroup {
          let group = Array(members[start..<min(start + method.groupSize, members.count)])
          if hashGroup(group, of: blocks, length: length, method: method, into: &out) { done.formUnion(group) }
          start += group.count
        }
      }
      pending.removeAll { done.contains($0) }
    }
    for i in pending { out[i] = SHA256Hashing.digest(blocks[i]) }
    return out
  }

  /// Hashes `group` (indices of blocks of `length` bytes, at most `method.groupSize`) together; false if the CPU
  /// cannot.
  private static func hashGroup(
    _ group: [Int], of blocks: [[UInt8]], length: Int, method: SHA256Method, into out: inout [[UInt8]]
  ) -> Bool {
    var digests = [UInt8](repeating: 0, count: 32 * group.count)
    // The arrays' storage stays put while their pointers are in use: every block is borrowed for the whole call.
    let ok = withPointers(group.map { blocks[$0] }) { pointers in
      digests.withUnsafeMutableBufferPointer { d in
        pointers.withUnsafeBufferPointer { p in
          switch method {
          case .lanes:
            return cstore_sha256_lanes_messages(p.baseAddress, length, Int32(group.count), d.baseAddress) == 0
          case .pairs:
            return group.count == 2
              && cstore_sha256_pair(p[0], p[1], length, d.baseAddress, d.baseAddress! + 32) == 0
          case .single:
            return false
          }
        }
      }
    }
    guard ok else { return false }
    for (k, i) in group.enumerated() { out[i] = Array(digests[(32 * k)..<(32 * k + 32)]) }
    return true
  }

  /// Calls `body` with the base addresses of `arrays`, all valid for the duration of the call.
  private static func withPointers<R>(
    _ arrays: [[UInt8]], _ body: ([UnsafePointer<UInt8>?]) -> R
  ) -> R {
    func nest(_ i: Int, _ acc: inout [UnsafePointer<UInt8>?]) -> R {
      if i == arrays.count { return body(acc) }
      return arrays[i].withUnsafeBufferPointer { b in
        acc.append(b.baseAddress)
        return nest(i + 1, &acc)
      }
    }
    var acc: [UnsafePointer<UInt8>?] = []
    acc.reserveCapacity(arrays.count)
    return nest(0, &acc)
  }
}
