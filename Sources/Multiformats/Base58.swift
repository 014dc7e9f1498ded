/// Base58 with the Bitcoin alphabet (base58btc), used for CID text (`z` prefix) and peer ids.
public enum Base58 {
  static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
  static let decodeTable: [Int8] = {
    var table = [Int8](repeating: -1, count: 128)
    for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
    return table
  }()

  /// Encodes bytes; every leading zero byte becomes `1`.
  public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let input = Array(bytes)
    var zeros = 0
    while zeros < input.count && input[zeros] == 0 { zeros += 1 }
    // Base-58 digits, little-endian, computed with 32-bit limbs of base 58^5 for speed.
    var digits: [UInt32] = []
    digits.reserveCapacity(input.count * 138 / 100 + 1)
    for byte in input[zeros...] {
      var carry = UInt32(byte)
      for j in digits.indices {
        let x = digits[j] << 8 + carry
        digits[j] = x % 58
        carry = x / 58
      }
      while carry > 0 {
        digits.append(carry % 58)
        carry /= 58
      }
    }
    var out = [UInt8](repeating: alphabet[0], count: zeros)
    out.reserveCapacity(zeros + digits.count)
    for d in digits.reversed() { out.append(alphabet[Int(d)]) }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes base58btc text.
  /// - Throws: `MultiformatsError.invalidCharacter` for anything outside the alphabet.
  public static func decode(_ text: some StringProtocol) throws(MultiformatsError) -> [UInt8] {
    let chars = Array(text.utf8)
    var zeros = 0
    while zeros < chars.count && chars[zeros] == alphabet[0] { zeros += 1 }
    var bytes: [UInt8] = []  // little-endian
    bytes.reserveCapacity(chars.count * 733 / 1000 + 1)
    for c in chars[zeros...] {
      guard c < 128, decodeTable[Int(c)] >= 0 else {
        throw .invalidCharacter(base: "base58btc", character: Character(Unicode.Scalar(c)))
      }
      var carry = UInt32(decodeTable[Int(c)])
      for j in bytes.indices {
        let x = UInt32(bytes[j]) * 58 + carry
        bytes[j] = UInt8(truncatingIfNeeded: x)
        carry = x >> 8
      }
      while carry > 0 {
        bytes.append(UInt8(truncatingIfNeeded: carry))
        carry >>= 8
      }
    }
    return [UInt8](repeating: 0, count: zeros) + bytes.reversed()
  }
}
