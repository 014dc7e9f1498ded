/// A 20-byte Ethereum account or contract address.
public struct EthereumAddress: Hashable, Sendable, CustomStringConvertible {
  /// Exactly 20 bytes.
  public let bytes: [UInt8]

  public static let zero = EthereumAddress(unchecked: [UInt8](repeating: 0, count: 20))

  init(unchecked bytes: [UInt8]) { self.bytes = bytes }

  /// Nil unless `bytes` has exactly 20 bytes.
  public init?(bytes: [UInt8]) {
    guard bytes.count == 20 else { return nil }
    self.bytes = bytes
  }

  /// Parses `0x` + 40 hex digits. All-lower or all-upper case is accepted as is; mixed case must be a valid
  /// EIP-55 checksum, otherwise nil.
  public init?(hex text: String) {
    var body = Substring(text)
    if body.hasPrefix("0x") || body.hasPrefix("0X") { body = body.dropFirst(2) }
    guard body.utf8.count == 40, let b = try? Hex.decode(String(body)) else { return nil }
    self.bytes = b
    let hasLower = body.contains(where: { $0.isLowercase })
    let hasUpper = body.contains(where: { $0.isUppercase })
    if hasLower && hasUpper && String(checksummed.dropFirst(2)) != String(body) { return nil }
  }

  /// The address of an uncompressed secp256k1 public key (64 bytes `x‖y`, or 65 bytes with the `0x04` prefix):
  /// the last 20 bytes of its Keccak-256 hash.
  public init?(publicKey: [UInt8]) {
    var key = publicKey
    if key.count == 65 && key[0] == 0x04 { key.removeFirst() }
    guard key.count == 64 else { return nil }
    self.bytes = Array(Keccak256.hash(key).suffix(20))
  }

  /// EIP-55 mixed-case checksum text with `0x`.
  public var checksummed: String {
    let lower = Hex.encode(bytes, prefix: false)
    let hash = Keccak256.hash(Array(lower.utf8))
    var out = "0x"
    for (i, c) in lower.enumerated() {
      let nibble = (hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0x0F
      out.append(c.isLetter && nibble >= 8 ? Character(c.uppercased()) : c)
    }
    return out
  }

  /// Lower-case hex with `0x`.
  public var hex: String { Hex.encode(bytes) }

  public var description: String { checksummed }
}
