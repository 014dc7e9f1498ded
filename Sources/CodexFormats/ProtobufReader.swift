import Multiformats

/// A tolerant protobuf reader: absent fields read as defaults, unknown fields are skipped, a field with an
/// unexpected wire type is ignored, the last occurrence of a non-repeated field wins (`formats.md` §2 rule 6).
///
/// Parsing happens once in `init`; malformed input throws `FormatError.malformedProtobuf`.
public struct ProtobufReader: Sendable {
  /// One decoded field value.
  public typealias Value = MinProtobuf.Value

  /// Fields in the order they appeared.
  public let fields: [(number: UInt64, value: Value)]

  /// Parses every field of a message (with the shared minprotobuf reader).
  public init(_ data: some Collection<UInt8>) throws(FormatError) {
    // Arrays and array slices (nested messages from ``slice(_:)``) are read in place, without a copy.
    let bytes: ArraySlice<UInt8>
    if let slice = data as? ArraySlice<UInt8> {
      bytes = slice
    } else if let array = data as? [UInt8] {
      bytes = array[...]
    } else {
      bytes = ArraySlice(data)
    }
    var reader = MinProtobuf.Reader(bytes)
    var out: [(number: UInt64, value: Value)] = []
    do {
      while let field = try reader.next() { out.append((number: field.number, value: field.value)) }
    } catch {
      throw .malformedProtobuf(error.message)
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
  public func bytes(_ field: UInt64) -> [UInt8]? { slice(field).map { Array($0) } }

  /// The last length-delimited value of `field` as a slice of the message (no copy), or nil; for nested
  /// messages, which ``init(_:)`` then reads in place.
  public func slice(_ field: UInt64) -> ArraySlice<UInt8>? {
    for f in fields.reversed() where f.number == field {
      if case .bytes(let v) = f.value { return v }
    }
    return nil
  }

  /// Every length-delimited value of a repeated `field`, in order, as slices of the message (no copy).
  public func repeatedSlices(_ field: UInt64) -> [ArraySlice<UInt8>] {
    fields.compactMap { f in
      guard f.number == field, case .bytes(let v) = f.value else { return nil }
      return v
    }
  }

  /// Every length-delimited value of a repeated `field`, in order.
  public func repeatedBytes(_ field: UInt64) -> [[UInt8]] { repeatedSlices(field).map { Array($0) } }

  /// The last fixed64 value of `field`, or nil.
  public func fixed64(_ field: UInt64) -> UInt64? {
    for f in fields.reversed() where f.number == field {
      if case .fixed64(let v) = f.value { return v }
    }
    return nil
  }
}
