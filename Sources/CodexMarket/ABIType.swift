/// A Solidity ABI type (the subset Ethereum contracts use: integers, address, bool, fixed and dynamic bytes,
/// string, fixed and dynamic arrays, tuples).
public indirect enum ABIType: Hashable, Sendable, CustomStringConvertible {
  /// `uintN`, N a multiple of 8 in 8…256.
  case uint(Int)
  /// `intN`, N a multiple of 8 in 8…256 (two's complement).
  case int(Int)
  case address
  case bool
  /// `bytesN`, N in 1…32.
  case fixedBytes(Int)
  /// `bytes` (dynamic).
  case bytes
  case string
  /// `T[]`.
  case array(ABIType)
  /// `T[k]`.
  case fixedArray(ABIType, Int)
  /// `(T1,T2,…)`.
  case tuple([ABIType])

  /// The canonical name used in function, event and error signatures (`uint256`, `(address,bytes)[]`, …).
  public var canonicalName: String {
    switch self {
    case .uint(let n): return "uint\(n)"
    case .int(let n): return "int\(n)"
    case .address: return "address"
    case .bool: return "bool"
    case .fixedBytes(let n): return "bytes\(n)"
    case .bytes: return "bytes"
    case .string: return "string"
    case .array(let t): return t.canonicalName + "[]"
    case .fixedArray(let t, let k): return t.canonicalName + "[\(k)]"
    case .tuple(let ts): return "(" + ts.map(\.canonicalName).joined(separator: ",") + ")"
    }
  }

  public var description: String { canonicalName }

  /// Whether the type is encoded out of line (has a tail).
  public var isDynamic: Bool {
    switch self {
    case .bytes, .string, .array: return true
    case .fixedArray(let t, _): return t.isDynamic
    case .tuple(let ts): return ts.contains(where: \.isDynamic)
    default: return false
    }
  }

  /// Bytes the type occupies in the head of its enclosing tuple (32 for dynamic types).
  public var headSize: Int {
    switch self {
    case _ where isDynamic: return 32
    case .fixedArray(let t, let k): return t.headSize * k
    case .tuple(let ts): return ts.reduce(0) { $0 + $1.headSize }
    default: return 32
    }
  }

  /// Parses a type string such as `uint64`, `bytes32[]`, `(address,(uint256,bytes))[2]`; `uint`/`int` mean 256 bits.
  public static func parse(_ text: String) throws(ABIError) -> ABIType {
    var p = TypeParser(chars: Array(text.utf8), pos: 0)
    let t = try p.parseType()
    guard p.pos == p.chars.count else { throw .invalidType(text) }
    return t
  }
}

private struct TypeParser {
  let chars: [UInt8]
  var pos: Int

  mutating func parseType() throws(ABIError) -> ABIType {
    var base: ABIType
    if pos < chars.count && chars[pos] == UInt8(ascii: "(") {
      pos += 1
      var items: [ABIType] = []
      if pos < chars.count && chars[pos] == UInt8(ascii: ")") {
        pos += 1
      } else {
        while true {
          items.append(try parseType())
          guard pos < chars.count else { throw .invalidType(text) }
          if chars[pos] == UInt8(ascii: ",") {
            pos += 1
          } else if chars[pos] == UInt8(ascii: ")") {
            pos += 1
            break
          } else {
            throw .invalidType(text)
          }
        }
      }
      base = .tuple(items)
    } else {
      let start = pos
      while pos < chars.count, chars[pos] != UInt8(ascii: "["), chars[pos] != UInt8(ascii: ","),
        chars[pos] != UInt8(ascii: ")")
      {
        pos += 1
      }
      base = try elementary(String(decoding: chars[start..<pos], as: UTF8.self))
    }
    while pos < chars.count && chars[pos] == UInt8(ascii: "[") {
      pos += 1
      let start = pos
      while pos < chars.count, chars[pos] != UInt8(ascii: "]") { pos += 1 }
      guard pos < chars.count else { throw .invalidType(text) }
      let digits = String(decoding: chars[start..<pos], as: UTF8.self)
      pos += 1
      if digits.isEmpty {
        base = .array(base)
      } else {
        guard let k = Int(digits), k > 0, k <= 1 << 20 else { throw .invalidType(text) }
        base = .fixedArray(base, k)
      }
    }
    return base
  }

  var text: String { String(decoding: chars, as: UTF8.self) }

  func elementary(_ name: String) throws(ABIError) -> ABIType {
    switch name {
    case "address": return .address
    case "bool": return .bool
    case "bytes": return .bytes
    case "string": return .string
    case "uint": return .uint(256)
    case "int": return .int(256)
    default: break
    }
    func size(_ prefix: String) -> Int? {
      guard name.hasPrefix(prefix), let n = Int(name.dropFirst(prefix.count)) else { return nil }
      return n
    }
    if let n = size("uint"), n % 8 == 0, (8...256).contains(n) { return .uint(n) }
    if let n = size("int"), n % 8 == 0, (8...256).contains(n) { return .int(n) }
    if let n = size("bytes"), (1...32).contains(n) { return .fixedBytes(n) }
    throw .invalidType(name)
  }
}
