#if canImport(Glibc)
  import Glibc
#endif

/// glibc `malloc` settings for the node process, applied once when the node starts (`mallopt` is thread-safe).
///
/// By default glibc raises its mmap threshold to the largest block freed so far and gives the top of an arena back
/// to the kernel (`MADV_DONTNEED`) once more than twice that is free there. An upload's 1 MiB socket read buffers
/// (SwiftNIO) are allocated on the event loop and freed on another thread after their bytes were copied: the
/// arena keeps shrinking and growing, and every received byte lands on a page the kernel has to fault in and zero
/// again (15,000-54,000 page faults per GiB uploaded, measured). Fixed thresholds (allocations up to 4 MiB from the
/// arenas, up to 32 MiB kept free at an arena's top) bring that to ~12,000; the memory kept is bounded by the
/// thresholds and reused by the next buffers. Cost, measured at 1 GiB: peak RSS ~15 MB higher (upload 92 → 108 MB,
/// block-exchange leecher 94 → 110-130 MB), within the 150/200 MB budgets. What the arenas keep after a transfer is
/// given back by `MemoryReclaimer` once the node is idle (or as the next transfer begins).
///
/// `mallopt` is looked up at run time: Swift's Glibc module does not export `<malloc.h>`.
enum MallocTuning {
  /// `<malloc.h>`'s `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD`.
  static let trimThreshold: Int32 = -1
  static let mmapThreshold: Int32 = -3

  static func apply() {
    #if canImport(Glibc)
      guard let symbol = dlsym(nil, "mallopt") else { return }
      let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
      _ = mallopt(mmapThreshold, 4 << 20)
      _ = mallopt(trimThreshold, 32 << 20)
    #endif
  }
}
