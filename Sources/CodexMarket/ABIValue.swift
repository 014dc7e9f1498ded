/// A value to encode with, or decoded from, the Solidity ABI. Its shape must match an `ABIType`.
public indirect enum ABIValue: Hashable, Sendable {
  case uint(UInt256)
  /// A signed integer in 256-bit two's complement.
  case int(UInt256)
  case address(EthereumAddress)
  case bool(Bool)
  /// `bytesN`: exactly N bytes.
  case fixedBytes([UInt8])
  case bytes([UInt8])
  case string(String)
  /// Elements of `T[]` or `T[k]`.
  case array([ABIValue])
  case tuple([ABIValue])

  /// A `uintN` from a 64-bit value.
  public static func uint64(_ v: UInt64) -> ABIValue { .uint(UInt256(v)) }

  /// An `intN` from a Swift `Int`.
  public static func signed(_ v: Int) -> ABIValue {
    v >= 0 ? .int(UInt256(UInt64(v))) : .int(UInt256.zero &- UInt256(UInt64(v.magnitude)))
  }

  public var uintValue: UInt256? {
    if case .uint(let v) = self { return v }
    return nil
  }
  public var addressValue: EthereumAddress? {
    if case .address(let v) = self { return v }
    return nil
  }
  public var boolValue: Bool? {
    if case .bool(let v) = self { return v }
    return nil
  }
  /// The bytes of a `bytesN` or `bytes` value.
  public var bytesValue: [UInt8]? {
    switch self {
    case .fixedBytes(let b), .bytes(let b): return b
    default: return nil
    }
  }
  public var stringValue: String? {
    if case .string(let v) = self { return v }
    return nil
  }
  /// Elements of a tuple or array.
  public var elements: [ABIValue]? {
    switch self {
    case .tuple(let v), .array(let v): return v
    default: return nil
    }
  }
}

/// ABI encoding/decoding failure, or a value that does not fit its type.
public enum ABIError: Error, Equatable, CustomStringConvertible {
  case invalidType(String)
  case typeMismatch(expected: String, got: String)
  case valueOutOfRange(String)
  case truncated(offset: Int, needed: Int, available: Int)
  case invalidOffset(Int)
  case invalidBool
  case dirtyHighBits(type: String)
  case invalidUTF8
  case tooLarge
  case unknownSelector([UInt8])

  public var description: String {
    switch self {
    case .invalidType(let t): return "ABI: invalid type \"\(t)\""
    case .typeMismatch(let e, let g): return "ABI: expected a value of type \(e), got \(g)"
    case .valueOutOfRange(let t): return "ABI: value out of range for \(t)"
    case .truncated(let o, let n, let a): return "ABI: truncated data at offset \(o) (need \(n), have \(a))"
    case .invalidOffset(let o): return "ABI: offset or length \(o) points outside the data"
    case .invalidBool: return "ABI: bool word is neither 0 nor 1"
    case .dirtyHighBits(let t): return "ABI: non-zero padding bits in a \(t) word"
    case .invalidUTF8: return "ABI: string is not valid UTF-8"
    case .tooLarge: return "ABI: decoded value would be too large"
    case .unknownSelector(let s): return "ABI: unknown selector \(Hex.encode(s))"
    }
  }
}
