/// A multicodec code: a number naming a content type or hash function.
///
/// Only the codes this project uses are named. `isContentCodec` decides what a CID may carry: libp2p's default
/// content-id list plus exactly the six Codex codes (`formats.md` §1.4).
public struct Multicodec: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public let rawValue: UInt64
  public init(rawValue: UInt64) { self.rawValue = rawValue }

  // Hash functions.
  public static let identity = Multicodec(rawValue: 0x00)
  public static let sha2_256 = Multicodec(rawValue: 0x12)
  public static let sha2_512 = Multicodec(rawValue: 0x13)
  public static let poseidon2Sponge = Multicodec(rawValue: 0xCD10)
  public static let poseidon2Merkle2kb = Multicodec(rawValue: 0xCD11)
  public static let poseidon2KeyedCompress = Multicodec(rawValue: 0xCD12)

  // Content codecs: libp2p defaults used in practice.
  public static let raw = Multicodec(rawValue: 0x55)
  public static let dagPB = Multicodec(rawValue: 0x70)
  public static let dagCBOR = Multicodec(rawValue: 0x71)
  public static let libp2pKey = Multicodec(rawValue: 0x72)
  public static let dagJSON = Multicodec(rawValue: 0x0129)

  // The Codex content codecs.
  public static let codexManifest = Multicodec(rawValue: 0xCD01)
  public static let codexBlock = Multicodec(rawValue: 0xCD02)
  public static let codexRoot = Multicodec(rawValue: 0xCD03)
  public static let codexSlotRoot = Multicodec(rawValue: 0xCD04)
  public static let codexProvingRoot = Multicodec(rawValue: 0xCD05)
  public static let codexSlotCell = Multicodec(rawValue: 0xCD06)

  /// nim-libp2p's default content-id codecs (`cid.nim`), plus the six Codex ones.
  static let contentCodecs: Set<UInt64> = [
    0x55, 0x70, 0x71, 0x72, 0x78, 0x0129,  // raw, dag-pb, dag-cbor, libp2p-key, git-raw, dag-json
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,  // eth-*
    0xb0, 0xb1, 0xc0, 0xc1, 0xe0, 0xe1, 0xf0, 0xf1,  // bitcoin, zcash, decred, dash
    0x7b, 0x7c, 0xed,  // torrent-info, torrent-file, ed25519-pub
    0xCD01, 0xCD02, 0xCD03, 0xCD04, 0xCD05, 0xCD06,
  ]

  /// True if a CID may carry this code as its content codec.
  public var isContentCodec: Bool { Self.contentCodecs.contains(rawValue) }

  /// The fixed digest length of a hash code this module knows, or nil.
  public var digestLength: Int? {
    switch rawValue {
    case 0x12: return 32
    case 0x13: return 64
    case 0xCD10, 0xCD11: return 32
    default: return nil
    }
  }

  public var name: String {
    switch rawValue {
    case 0x00: return "identity"
    case 0x12: return "sha2-256"
    case 0x13: return "sha2-512"
    case 0x55: return "raw"
    case 0x70: return "dag-pb"
    case 0x71: return "dag-cbor"
    case 0x72: return "libp2p-key"
    case 0x0129: return "dag-json"
    case 0xCD01: return "codex-manifest"
    case 0xCD02: return "codex-block"
    case 0xCD03: return "codex-root"
    case 0xCD04: return "codex-slot-root"
    case 0xCD05: return "codex-proving-root"
    case 0xCD06: return "codex-slot-cell"
    case 0xCD10: return "poseidon2-alt_bn_128-sponge-r2"
    case 0xCD11: return "poseidon2-alt_bn_128-merkle-2kb"
    case 0xCD12: return "poseidon2-alt_bn_128-keyed-compress"
    default: return "0x" + String(rawValue, radix: 16)
    }
  }

  public var description: String { name }
}
