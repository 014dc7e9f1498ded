/// Solidity ABI encoding and decoding (head/tail layout, 32-byte words), selectors and topics.
///
/// Decoding is strict and total: any malformed input (out-of-range offsets, dirty padding bits in
/// integer/address/bool words, truncated data, absurd lengths) throws `ABIError`, never traps.
public enum ABI {
  /// First 4 bytes of `keccak256(signature)`, e.g. `selector("approve(address,uint256)") == [0x09,0x5e,0xa7,0xb3]`.
  public static func selector(_ signature: String) -> [UInt8] { Array(Keccak256.hash(signature).prefix(4)) }

  /// `keccak256(signature)`: topic 0 of an event.
  public static func topic(_ signature: String) -> [UInt8] { Keccak256.hash(signature) }

  /// Signature text `name(type1,type2,…)`.
  public static func signature(_ name: String, _ types: [ABIType]) -> String {
    name + "(" + types.map(\.canonicalName).joined(separator: ",") + ")"
  }

  /// Encodes `values` as the tuple `types` (function arguments, return values, `abi.encode(...)`).
  public static func encode(_ values: [ABIValue], as types: [ABIType]) throws(ABIError) -> [UInt8] {
    guard values.count == types.count else {
      throw .typeMismatch(expected: "\(types.count) values", got: "\(values.count)")
    }
    var out = [UInt8]()
    try encodeSequence(values, types, into: &out)
    return out
  }

  /// Selector of `name(types…)` followed by the encoded arguments: transaction or `eth_call` data.
  public static func encodeCall(_ name: String, _ types: [ABIType], _ values: [ABIValue]) throws(ABIError) -> [UInt8] {
    selector(signature(name, types)) + (try encode(values, as: types))
  }

  /// Decodes `data` as the tuple `types`. Extra bytes after the last tail are ignored (as the EVM does).
  public static func decode(_ types: [ABIType], from data: [UInt8]) throws(ABIError) -> [ABIValue] {
    var budget = max(1024, data.count)
    return try data.withUnsafeBufferPointer { (buf) throws(ABIError) -> [ABIValue] in
      let reader = Reader(data: buf)
      return try reader.decodeSequence(types, base: 0, budget: &budget)
    }
  }

  // MARK: encoding

  private static func encodeSequence(_ values: [ABIValue], _ types: [ABIType], into out: inout [UInt8])
    throws(ABIError)
  {
    let headLen = types.reduce(0) { $0 + $1.headSize }
    var head = [UInt8]()
    head.reserveCapacity(headLen)
    var tail = [UInt8]()
    for (v, t) in zip(values, types) {
      if t.isDynamic {
        head += UInt256(UInt64(headLen + tail.count)).bigEndianBytes
        try encodeValue(v, t, into: &tail)
      } else {
        try encodeValue(v, t, into: &head)
      }
    }
    out += head
    out += tail
  }

  private static func mismatch(_ t: ABIType, _ v: ABIValue) -> ABIError {
    .typeMismatch(expected: t.canonicalName, got: "\(v)".prefix(60).description)
  }

  private static func encodeValue(_ v: ABIValue, _ t: ABIType, into out: inout [UInt8]) throws(ABIError) {
    switch (t, v) {
    case (.uint(let n), .uint(let x)):
      guard n == 256 || x >> n == .zero else { throw .valueOutOfRange(t.canonicalName) }
      out += x.bigEndianBytes
    case (.int(let n), .int(let x)):
      guard signExtend(x, bits: n) == x else { throw .valueOutOfRange(t.canonicalName) }
      out += x.bigEndianBytes
    case (.address, .address(let a)):
      out += [UInt8](repeating: 0, count: 12) + a.bytes
    case (.bool, .bool(let b)):
      out += UInt256(b ? 1 : 0).bigEndianBytes
    case (.fixedBytes(let n), .fixedBytes(let b)):
      guard b.count == n else { throw .valueOutOfRange(t.canonicalName) }
      out += b + [UInt8](repeating: 0, count: 32 - n)
    case (.bytes, .bytes(let b)):
      appendDynamicBytes(b, into: &out)
    case (.string, .string(let s)):
      appendDynamicBytes(Array(s.utf8), into: &out)
    case (.array(let et), .array(let items)):
      out += UInt256(UInt64(items.count)).bigEndianBytes
      try encodeSequence(items, Array(repeating: et, count: items.count), into: &out)
    case (.fixedArray(let et, let k), .array(let items)):
      guard items.count == k else { throw .valueOutOfRange(t.canonicalName) }
      try encodeSequence(items, Array(repeating: et, count: k), into: &out)
    case (.tuple(let ts), .tuple(let items)):
      guard items.count == ts.count else { throw mismatch(t, v) }
      try encodeSequence(items, ts, into: &out)
    default:
      throw mismatch(t, v)
    }
  }

  private static func appendDynamicBytes(_ b: [UInt8], into out: inout [UInt8]) {
    out += UInt256(UInt64(b.count)).bigEndianBytes
    out += b
    let pad = (32 - b.count % 32) % 32
    out += [UInt8](repeating: 0, count: pad)
  }

  /// Sign-extends the low `bits` bits of `x` to 256 bits.
  static func signExtend(_ x: UInt256, bits: Int) -> UInt256 {
    if bits >= 256 { return x }
    let mask = (UInt256.one << bits) &- .one
    let low = x & mask
    let negative = !(low >> (bits - 1) & .one).isZero
    return negative ? low | ~mask : low
  }

  // MARK: decoding

  private struct Reader {
    let data: UnsafeBufferPointer<UInt8>

    func word(at offset: Int) throws(ABIError) -> UInt256 {
      guard offset >= 0, offset <= data.count, data.count - offset >= 32 else {
        throw .truncated(offset: offset, needed: 32, available: max(0, data.count - max(offset, 0)))
      }
      var v = UInt256.zero
      var limbs: [UInt64] = [0, 0, 0, 0]
      for li in 0..<4 {
        var limb: UInt64 = 0
        for b in 0..<8 { limb = limb << 8 | UInt64(data[offset + li * 8 + b]) }
        limbs[3 - li] = limb
      }
      v = UInt256(w0: limbs[0], w1: limbs[1], w2: limbs[2], w3: limbs[3])
      return v
    }

    /// Reads a word that must be a small non-negative integer (offset or length).
    func smallInt(at offset: Int) throws(ABIError) -> Int {
      let w = try word(at: offset)
      guard let v = w.uint64Value, v <= UInt64(Int32.max) else { throw .invalidOffset(Int(clamping: w.w0)) }
      return Int(v)
    }

    func bytes(at offset: Int, count: Int) throws(ABIError) -> [UInt8] {
      guard offset >= 0, count >= 0, offset <= data.count, data.count - offset >= count else {
        throw .truncated(offset: offset, needed: count, available: max(0, data.count - max(offset, 0)))
      }
      return Array(data[offset..<(offset + count)])
    }

    func decodeSequence(_ types: [ABIType], base: Int, budget: inout Int) throws(ABIError) -> [ABIValue] {
      var values = [ABIValue]()
      values.reserveCapacity(min(types.count, 1024))
      var pos = base
      for t in types {
        budget -= 1
        guard budget >= 0 else { throw .tooLarge }
        if t.isDynamic {
          let off = try smallInt(at: pos)
          guard off <= data.count - base else { throw .invalidOffset(off) }
          values.append(try decodeValue(t, at: base + off, budget: &budget))
        } else {
          values.append(try decodeValue(t, at: pos, budget: &budget))
        }
        pos += t.headSize
      }
      return values
    }

    func decodeValue(_ t: ABIType, at pos: Int, budget: inout Int) throws(ABIError) -> ABIValue {
      switch t {
      case .uint(let n):
        let w = try word(at: pos)
        guard n == 256 || w >> n == .zero else { throw .dirtyHighBits(type: t.canonicalName) }
        return .uint(w)
      case .int(let n):
        let w = try word(at: pos)
        guard ABI.signExtend(w, bits: n) == w else { throw .dirtyHighBits(type: t.canonicalName) }
        return .int(w)
      case .address:
        let w = try word(at: pos)
        guard w >> 160 == .zero else { throw .dirtyHighBits(type: "address") }
        return .address(EthereumAddress(unchecked: Array(w.bigEndianBytes.suffix(20))))
      case .bool:
        let w = try word(at: pos)
        guard w <= .one else { throw .invalidBool }
        return .bool(w == .one)
      case .fixedBytes(let n):
        let b = try bytes(at: pos, count: 32)
        guard b[n...].allSatisfy({ $0 == 0 }) else { throw .dirtyHighBits(type: t.canonicalName) }
        return .fixedBytes(Array(b[..<n]))
      case .bytes, .string:
        let len = try smallInt(at: pos)
        budget -= len / 32
        guard budget >= 0 else { throw .tooLarge }
        let b = try bytes(at: pos + 32, count: len)
        if case .string = t {
          guard let s = String(validating: b, as: UTF8.self) else { throw .invalidUTF8 }
          return .string(s)
        }
        return .bytes(b)
      case .array(let et):
        let len = try smallInt(at: pos)
        // Each element needs at least one head slot of 32 bytes after the length word.
        guard len <= (data.count - pos - 32) / 32 else { throw .invalidOffset(len) }
        budget -= len
        guard budget >= 0 else { throw .tooLarge }
        return .array(try decodeSequence(Array(repeating: et, count: len), base: pos + 32, budget: &budget))
      case .fixedArray(let et, let k):
        budget -= k
        guard budget >= 0 else { throw .tooLarge }
        return .array(try decodeSequence(Array(repeating: et, count: k), base: pos, budget: &budget))
      case .tuple(let ts):
        return .tuple(try decodeSequence(ts, base: pos, budget: &budget))
      }
    }
  }
}
