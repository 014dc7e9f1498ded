/// A CIDv1: `varint(1) ‖ varint(content codec) ‖ multihash`, printed as base58btc with the `z` prefix.
///
/// Codex never produces CIDv0; parsing accepts only version 1 and only content codecs in
/// `Multicodec.isContentCodec`.
public struct Cid: Hashable, Sendable, CustomStringConvertible, Comparable {
  /// The content codec (e.g. `codex-block`).
  public let codec: Multicodec
  /// The multihash of the content.
  public let multihash: Multihash
  /// The binary form, computed once.
  public let bytes: [UInt8]

  /// Makes a CIDv1 from a content codec and a multihash.
  public init(codec: Multicodec, multihash: Multihash) {
    self.codec = codec
    self.multihash = multihash
    var out: [UInt8] = [1]
    Varint.append(codec.rawValue, to: &out)
    out += multihash.bytes
    self.bytes = out
  }

  /// Parses the binary form.
  /// - Throws: `MultiformatsError` for a wrong version, an unaccepted codec, a bad multihash or trailing bytes.
  public init(bytes: some Collection<UInt8>) throws(MultiformatsError) {
    let all = Array(bytes)
    guard !all.isEmpty else { throw .empty }
    let (version, n1) = try Varint.decode(all)
    guard version == 1 else { throw .unsupportedVersion(version) }
    let (codecValue, n2) = try Varint.decode(all[n1...])
    let codec = Multicodec(rawValue: codecValue)
    guard codec.isContentCodec else { throw .unsupportedCodec(codecValue) }
    let (mh, n3) = try Multihash.parse(all[(n1 + n2)...])
    guard n1 + n2 + n3 == all.count else { throw .trailingBytes(all.count - n1 - n2 - n3) }
    self.codec = codec
    self.multihash = mh
    self.bytes = all
  }

  /// Parses multibase text (`z…` base58btc, `b…` base32, `u…` base64url).
  public init(string: some StringProtocol) throws(MultiformatsError) {
    let (_, bytes) = try Multibase.decode(string)
    try self.init(bytes: bytes)
  }

  /// The base58btc text with the `z` prefix.
  public var string: String { Multibase.base58btc.encode(bytes) }
  public var description: String { string }

  public static func < (lhs: Cid, rhs: Cid) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

  /// Equality and hashing use the binary form alone (it determines codec and multihash), hashed as one byte run:
  /// CIDs key the block-exchange engine's per-block tables, and the synthesized versions hashed every byte of all
  /// three fields one at a time.
  public static func == (lhs: Cid, rhs: Cid) -> Bool { lhs.bytes == rhs.bytes }

  public func hash(into hasher: inout Hasher) {
    bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
  }
}
