#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Free space on the file system holding a path, and how it compares with the quota still to fill.
public enum DiskSpace {
  /// Bytes an unprivileged process can still write on the file system holding `path` (`statvfs`'s `f_bavail`),
  /// or nil when it cannot be read.
  public static func available(atPath path: String) -> UInt64? {
    var s = statvfs()
    guard statvfs(path, &s) == 0 else { return nil }
    let (bytes, overflow) = UInt64(s.f_bavail).multipliedReportingOverflow(by: UInt64(s.f_frsize))
    return overflow ? UInt64.max : bytes
  }

  /// How many bytes of the quota still to fill do not fit on the disk, or nil when all of it fits. Still to fill is
  /// the quota less the used bytes: reserved bytes (marketplace slots not yet filled) are promised but not yet on
  /// disk, so they count.
  /// - Parameters:
  ///   - space: the repo's quota figures.
  ///   - diskAvailable: free bytes on the file system holding the repo.
  public static func shortfall(_ space: SpaceInfo, diskAvailable: UInt64) -> UInt64? {
    let toWrite = space.quotaMaxBytes - min(space.quotaMaxBytes, space.quotaUsedBytes)
    return toWrite > diskAvailable ? toWrite - diskAvailable : nil
  }
}
