import CStoreSupport

/// How many blocks' SHA-256 digests are computed: the block hashing of uploads (`BlockBatch`) and of block-exchange
/// deliveries (`BlockDigests`). Every method gives the same digests; they differ in bytes hashed per CPU-second.
public enum SHA256Method: Sendable, CaseIterable, CustomStringConvertible {
  /// 16 equal-length messages at once, one per 32-bit lane of AVX-512 registers (`cstore_sha256_lanes`): about
  /// 1.9x the bytes per CPU-second of one-at-a-time SHA-NI code on cores with both.
  case lanes
  /// Two equal-length messages at once with the SHA extensions, their dependency chains interleaved
  /// (`cstore_sha256_pair`): about 1.37x swift-crypto's one-at-a-time rate on this project's AMD EPYC cores
  /// (2,220 vs 1,625 MB/s for 64 KiB blocks), where one message is bound by the latency of `sha256rnds2`.
  case pairs
  /// One message at a time with swift-crypto (BoringSSL's assembly): any CPU.
  case single

  /// The fastest method this CPU runs, as compiled: a debug build of the C routines is slower than swift-crypto's
  /// assembly, so it prefers `single` there.
  public static let preferred: SHA256Method =
    if cstore_sha256_lanes_preferred() != 0 {
      .lanes
    } else if cstore_sha256_pairs_preferred() != 0 {
      .pairs
    } else {
      .single
    }

  /// True when this CPU can run the method (whatever the build).
  public var isAvailable: Bool {
    switch self {
    case .lanes: cstore_sha256_lanes_available() != 0
    case .pairs: cstore_sha256_pairs_available() != 0
    case .single: true
    }
  }

  /// The messages hashed per call: split work in multiples of it so that no call runs short.
  public var groupSize: Int {
    switch self {
    case .lanes: 16
    case .pairs: 2
    case .single: 1
    }
  }

  public var description: String {
    switch self {
    case .lanes: "lanes"
    case .pairs: "pairs"
    case .single: "single"
    }
  }
}
