/// Settings of a `RepoStore` (`formats.md` §6.3 for the defaults).
public struct RepoConfig: Sendable {
  /// The repo directory; created if missing. Holds `repo.sqlite` (metadata, small blocks) and `packs/` (block bytes).
  public var directory: String
  /// Hard limit on stored block bytes plus reserved bytes (`--storage-quota`, default 20 GiB).
  public var quotaMaxBytes: UInt64
  /// Lifetime of a stored block when the caller gives no TTL (`--block-ttl`, default 30 days). Zero means
  /// "expires now" (as upstream computes it, `formats.md` §7 #6), not "never".
  public var blockTTL: Duration
  /// Time between maintenance cycles (`--block-mi`, default 10 minutes).
  public var maintenanceInterval: Duration
  /// Most expired blocks deleted per maintenance cycle (`--block-mn`, default 1000).
  public var maintenanceBatch: Int
  /// A pack file stops taking new blocks once it reaches this size (default 4 GiB). Tests lower it.
  public var packFileLimit: UInt64
  /// Rows a dataset delete, an upload's abort, crash recovery and the release of freed space handle at a time
  /// (default 4096), so their memory stays bounded whatever the dataset's size. Still one transaction each. Tests
  /// lower it.
  public var rowsPerStep: Int
  /// For crash drills only: called with a point name ("pack-written", "pack-synced", "rows-committed",
  /// "delete-committed", "punched", "upload-committed") at the moments between the steps of a write, so a drill
  /// can kill the process exactly there. Nil in production.
  public var faultHook: (@Sendable (String) -> Void)?

  public init(
    directory: String,
    quotaMaxBytes: UInt64 = 20 * 1024 * 1024 * 1024,
    blockTTL: Duration = .seconds(30 * 24 * 3600),
    maintenanceInterval: Duration = .seconds(600),
    maintenanceBatch: Int = 1000,
    packFileLimit: UInt64 = 4 * 1024 * 1024 * 1024,
    rowsPerStep: Int = 4096,
    faultHook: (@Sendable (String) -> Void)? = nil
  ) {
    self.directory = directory
    self.quotaMaxBytes = quotaMaxBytes
    self.blockTTL = blockTTL
    self.maintenanceInterval = maintenanceInterval
    self.maintenanceBatch = maintenanceBatch
    self.packFileLimit = packFileLimit
    self.rowsPerStep = max(1, rowsPerStep)
    self.faultHook = faultHook
  }
}

/// Storage usage as reported by `GET /space`.
public struct SpaceInfo: Sendable, Codable, Equatable {
  /// Number of stored blocks (the empty block is never counted).
  public var totalBlocks: Int
  /// The configured quota.
  public var quotaMaxBytes: UInt64
  /// Bytes of stored blocks.
  public var quotaUsedBytes: UInt64
  /// Bytes reserved for availabilities (sales) and not yet filled.
  public var quotaReservedBytes: UInt64

  public init(totalBlocks: Int, quotaMaxBytes: UInt64, quotaUsedBytes: UInt64, quotaReservedBytes: UInt64) {
    self.totalBlocks = totalBlocks
    self.quotaMaxBytes = quotaMaxBytes
    self.quotaUsedBytes = quotaUsedBytes
    self.quotaReservedBytes = quotaReservedBytes
  }

  /// Bytes that can still be stored: the quota less what is used and reserved (0 when those pass it).
  public var availableBytes: UInt64 {
    quotaMaxBytes - min(quotaMaxBytes, quotaUsedBytes + quotaReservedBytes)
  }

  /// The quota less what is reserved: the most an upload can bring, should every block it carries already be
  /// stored (blocks already here cost nothing). A larger upload cannot succeed; a smaller one may.
  public var unreservedBytes: UInt64 {
    quotaMaxBytes - min(quotaMaxBytes, quotaReservedBytes)
  }
}
