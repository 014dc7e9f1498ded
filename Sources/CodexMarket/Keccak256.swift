/// Keccak-256 as used by Ethereum (the original Keccak submission padding `0x01 … 0x80`, NOT NIST SHA3-256).
///
/// One-shot: `Keccak256.hash(bytes)`. Incremental: create a value, `update(_:)` any number of times, then
/// `finalize()`. The permutation is an unrolled keccak-f[1600] over `UInt64` lanes; it is a plain synchronous
/// function, safe to run on any thread.
public struct Keccak256: Sendable {
  /// Rate in bytes (1600 − 2 × 256 bits).
  public static let rate = 136
  private var state = [UInt64](repeating: 0, count: 25)
  private var buffer = [UInt8](repeating: 0, count: 136)
  private var buffered = 0

  /// A fresh hasher.
  public init() {}

  /// The 32-byte Keccak-256 digest of `data`.
  public static func hash(_ data: some Sequence<UInt8>) -> [UInt8] {
    var h = Keccak256()
    h.update(data)
    return h.finalize()
  }

  /// The 32-byte Keccak-256 digest of the UTF-8 bytes of `text`.
  public static func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }

  /// Absorbs `data`.
  public mutating func update(_ data: some Sequence<UInt8>) {
    let bytes = data as? [UInt8] ?? Array(data)
    bytes.withUnsafeBufferPointer { update(UnsafeRawBufferPointer($0)) }
  }

  /// Absorbs raw bytes.
  public mutating func update(_ raw: UnsafeRawBufferPointer) {
    var offset = 0
    let count = raw.count
    if buffered > 0 {
      let take = min(Self.rate - buffered, count)
      for i in 0..<take { buffer[buffered + i] = raw[i] }
      buffered += take
      offset = take
      if buffered == Self.rate {
        buffer.withUnsafeBytes { absorbBlock($0.baseAddress!) }
        buffered = 0
      }
    }
    while count - offset >= Self.rate {
      absorbBlock(raw.baseAddress! + offset)
      offset += Self.rate
    }
    if offset < count {
      for i in offset..<count { buffer[buffered] = raw[i]; buffered += 1 }
    }
  }

  /// Pads, permutes and returns the 32-byte digest. The hasher must not be used afterwards.
  public mutating func finalize() -> [UInt8] {
    for i in buffered..<Self.rate { buffer[i] = 0 }
    buffer[buffered] ^= 0x01
    buffer[Self.rate - 1] ^= 0x80
    buffer.withUnsafeBytes { absorbBlock($0.baseAddress!) }
    buffered = 0
    var out = [UInt8](repeating: 0, count: 32)
    for lane in 0..<4 {
      let v = state[lane]
      for b in 0..<8 { out[lane * 8 + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(b))) }
    }
    return out
  }

  private mutating func absorbBlock(_ p: UnsafeRawPointer) {
    state.withUnsafeMutableBufferPointer { s in
      for i in 0..<17 {
        s[i] ^= UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
      }
      Keccak256.permute(s.baseAddress!)
    }
  }

  private static let roundConstants: [UInt64] = [
    0x0000_0000_0000_0001, 0x0000_0000_0000_8082, 0x8000_0000_0000_808A, 0x8000_0000_8000_8000,
    0x0000_0000_0000_808B, 0x0000_0000_8000_0001, 0x8000_0000_8000_8081, 0x8000_0000_0000_8009,
    0x0000_0000_0000_008A, 0x0000_0000_0000_0088, 0x0000_0000_8000_8009, 0x0000_0000_8000_000A,
    0x0000_0000_8000_808B, 0x8000_0000_0000_008B, 0x8000_0000_0000_8089, 0x8000_0000_0000_8003,
    0x8000_0000_0000_8002, 0x8000_0000_0000_0080, 0x0000_0000_0000_800A, 0x8000_0000_8000_000A,
    0x8000_0000_8000_8081, 0x8000_0000_0000_8080, 0x0000_0000_8000_0001, 0x8000_0000_8000_8008,
  ]

  /// keccak-f[1600] on 25 lanes (index x + 5·y), unrolled per round.
  @inline(__always)
  static func permute(_ s: UnsafeMutablePointer<UInt64>) {
    var a0 = s[0]
    var a1 = s[1]
    var a2 = s[2]
    var a3 = s[3]
    var a4 = s[4]
    var a5 = s[5]
    var a6 = s[6]
    var a7 = s[7]
    var a8 = s[8]
    var a9 = s[9]
    var a10 = s[10]
    var a11 = s[11]
    var a12 = s[12]
    var a13 = s[13]
    var a14 = s[14]
    var a15 = s[15]
    var a16 = s[16]
    var a17 = s[17]
    var a18 = s[18]
    var a19 = s[19]
    var a20 = s[20]
    var a21 = s[21]
    var a22 = s[22]
    var a23 = s[23]
    var a24 = s[24]
    for round in 0..<24 {
      let rc = roundConstants[round]
      let c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
      let c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
      let c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
      let c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
      let c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
      let d0 = c4 ^ ((c1 << 1) | (c1 >> 63))
      let d1 = c0 ^ ((c2 << 1) | (c2 >> 63))
      let d2 = c1 ^ ((c3 << 1) | (c3 >> 63))
      let d3 = c2 ^ ((c4 << 1) | (c4 >> 63))
      let d4 = c3 ^ ((c0 << 1) | (c0 >> 63))
      let b0 = (a0 ^ d0)
      let t5 = (a5 ^ d0)
      let b16 = ((t5 << 36) | (t5 >> 28))
      let t10 = (a10 ^ d0)
      let b7 = ((t10 << 3) | (t10 >> 61))
      let t15 = (a15 ^ d0)
      let b23 = ((t15 << 41) | (t15 >> 23))
      let t20 = (a20 ^ d0)
      let b14 = ((t20 << 18) | (t20 >> 46))
      let t1 = (a1 ^ d1)
      let b10 = ((t1 << 1) | (t1 >> 63))
      let t6 = (a6 ^ d1)
      let b1 = ((t6 << 44) | (t6 >> 20))
      let t11 = (a11 ^ d1)
      let b17 = ((t11 << 10) | (t11 >> 54))
      let t16 = (a16 ^ d1)
      let b8 = ((t16 << 45) | (t16 >> 19))
      let t21 = (a21 ^ d1)
      let b24 = ((t21 << 2) | (t21 >> 62))
      let t2 = (a2 ^ d2)
      let b20 = ((t2 << 62) | (t2 >> 2))
      let t7 = (a7 ^ d2)
      let b11 = ((t7 << 6) | (t7 >> 58))
      let t12 = (a12 ^ d2)
      let b2 = ((t12 << 43) | (t12 >> 21))
      let t17 = (a17 ^ d2)
      let b18 = ((t17 << 15) | (t17 >> 49))
      let t22 = (a22 ^ d2)
      let b9 = ((t22 << 61) | (t22 >> 3))
      let t3 = (a3 ^ d3)
      let b5 = ((t3 << 28) | (t3 >> 36))
      let t8 = (a8 ^ d3)
      let b21 = ((t8 << 55) | (t8 >> 9))
      let t13 = (a13 ^ d3)
      let b12 = ((t13 << 25) | (t13 >> 39))
      let t18 = (a18 ^ d3)
      let b3 = ((t18 << 21) | (t18 >> 43))
      let t23 = (a23 ^ d3)
      let b19 = ((t23 << 56) | (t23 >> 8))
      let t4 = (a4 ^ d4)
      let b15 = ((t4 << 27) | (t4 >> 37))
      let t9 = (a9 ^ d4)
      let b6 = ((t9 << 20) | (t9 >> 44))
      let t14 = (a14 ^ d4)
      let b22 = ((t14 << 39) | (t14 >> 25))
      let t19 = (a19 ^ d4)
      let b13 = ((t19 << 8) | (t19 >> 56))
      let t24 = (a24 ^ d4)
      let b4 = ((t24 << 14) | (t24 >> 50))
      a0 = b0 ^ (~b1 & b2)
      a1 = b1 ^ (~b2 & b3)
      a2 = b2 ^ (~b3 & b4)
      a3 = b3 ^ (~b4 & b0)
      a4 = b4 ^ (~b0 & b1)
      a5 = b5 ^ (~b6 & b7)
      a6 = b6 ^ (~b7 & b8)
      a7 = b7 ^ (~b8 & b9)
      a8 = b8 ^ (~b9 & b5)
      a9 = b9 ^ (~b5 & b6)
      a10 = b10 ^ (~b11 & b12)
      a11 = b11 ^ (~b12 & b13)
      a12 = b12 ^ (~b13 & b14)
      a13 = b13 ^ (~b14 & b10)
      a14 = b14 ^ (~b10 & b11)
      a15 = b15 ^ (~b16 & b17)
      a16 = b16 ^ (~b17 & b18)
      a17 = b17 ^ (~b18 & b19)
      a18 = b18 ^ (~b19 & b15)
      a19 = b19 ^ (~b15 & b16)
      a20 = b20 ^ (~b21 & b22)
      a21 = b21 ^ (~b22 & b23)
      a22 = b22 ^ (~b23 & b24)
      a23 = b23 ^ (~b24 & b20)
      a24 = b24 ^ (~b20 & b21)
      a0 ^= rc
    }
    s[0] = a0
    s[1] = a1
    s[2] = a2
    s[3] = a3
    s[4] = a4
    s[5] = a5
    s[6] = a6
    s[7] = a7
    s[8] = a8
    s[9] = a9
    s[10] = a10
    s[11] = a11
    s[12] = a12
    s[13] = a13
    s[14] = a14
    s[15] = a15
    s[16] = a16
    s[17] = a17
    s[18] = a18
    s[19] = a19
    s[20] = a20
    s[21] = a21
    s[22] = a22
    s[23] = a23
    s[24] = a24
  }
}
