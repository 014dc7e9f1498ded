import Multiformats

/// A tolerant protobuf reader: absent fields read as defaults, unknown fields are skipped, a field with an
/// unexpected wire type is ignored, the last occurrence of a non-repeated field wins (`formats.md` §2 rule 6).
///
/// Parsing happens once in `init`; malformed input throws `FormatError.malformedProtobuf`.
public struct ProtobufReader: Sendable {
  /// One decoded field.
  public enum Value: Sendable, Equatable {
    case varint(UInt64)
    case fixed64(UInt64)
    case bytes(ArraySlice<UInt8>)
    case fixed32(UInt32)
  }

  /// Fields in the order they appeared.
  public let fields: [(number: UInt64, value: Value)]

  /// Parses every field of a message.
  public init(_ data: some Collection<UInt8>) throws(FormatError) {
    let buf = Array(data)
    var out: [(UInt64, Value)] = []
    var i = 0
    while i < buf.count {
      let key: UInt64
      let n: Int
      do { (key, n) = try Varint.decode(buf[i...]) } catch { throw .malformedProtobuf("bad field key at \(i)") }
      i += n
      let field = key >> 3
      guard field != 0 else { throw .malformedProtobuf("field number 0 at \(i - n)") }
      switch key & 7 {
      case 0:
        let v: UInt64
        let m: Int
        do { (v, m) = try Varint.decode(buf[i...]) } catch { throw .malformedProtobuf("bad varint in field \(field)") }
        i += m
        out.append((field, .varint(v)))
      case 1:
        guard buf.count - i >= 8 else { throw .malformedProtobuf("truncated fixed64 in field \(field)") }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(buf[i + k]) << (8 * UInt64(k)) }
        i += 8
        out.append((field, .fixed64(v)))
      case 2:
        let len: UInt64
        let m: Int
        do { (len, m) = try Varint.decode(buf[i...]) } catch { throw .malformedProtobuf("bad length in field \(field)") }
        i += m
        guard len <= UInt64(buf.count - i) else { throw .malformedProtobuf("field \(field) runs past the end") }
        out.append((field, .bytes(buf[i..<i + Int(len)])))
        i += Int(len)
      case 5:
        guard buf.count - i >= 4 else { throw .malformedProtobuf("truncated fixed32 in field \(field)") }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(buf[i + k]) << (8 * UInt32(k)) }
        i += 4
        out.append((field, .fixed32(v)))
      default:
        throw .malformedProtobuf("unsupported wire type \(key & 7) in field \(field)")
      }
    }
    fields = out
  }

  /// The last varint value of `field`, or nil.
  public func varint(_ field: UInt64) -> UInt64? {
    for f in fields.reversed() where f.number == field {
      if case .varint(let v) = f.value { return v }
    }
    return nil
  }

  /// The last length-delimited value of `field`, or nil.
  public func bytes(_ field: UInt64) -> [UInt8]? {
    for f in fields.reversed() where f.number == field {
      if case .bytes(let v) = f.value { return Array(v) }
    }
    return nil
  }

  /// Every length-delimited value of a repeated `field`, in order.
  public func repeatedBytes(_ field: UInt64) -> [[UInt8]] {
    fields.compactMap { f in
      guard f.number == field, case .bytes(let v) = f.value else { return nil }
      return Array(v)
    }
  }

  /// The last fixed64 value of `field`, or nil.
  public func fixed64(_ field: UInt64) -> UInt64? {
    for f in fields.reversed() where f.number == field {
      if case .fixed64(let v) = f.value { return v }
    }
    return nil
  }
}
