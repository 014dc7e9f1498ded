/// A single HTTP `Range: bytes=…` request (RFC 9110 §14.1.2). Multiple ranges are not supported.
enum ByteRange {
  /// The requested byte range within `size` bytes, or nil when the header should be ignored (not `bytes=`, or
  /// several ranges).
  /// - Throws: `APIError` 416 when the range is syntactically valid but outside the content.
  static func parse(_ header: String, size: UInt64) throws -> Range<UInt64>? {
    let trimmed = header.trimmingCharacters(in: .whitespaces)
    guard trimmed.hasPrefix("bytes=") else { return nil }
    let spec = trimmed.dropFirst(6)
    guard !spec.contains(",") else { return nil }
    let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2 else { return nil }
    let a = parts[0].trimmingCharacters(in: .whitespaces)
    let b = parts[1].trimmingCharacters(in: .whitespaces)
    let unsatisfiable = APIError.rangeNotSatisfiable(size: size)
    if a.isEmpty {
      guard let suffix = position(b) else { return nil }
      guard suffix > 0 else { throw unsatisfiable }
      return (size - min(suffix, size))..<size
    }
    guard let start = position(a) else { return nil }
    guard start < size else { throw unsatisfiable }
    if b.isEmpty { return start..<size }
    guard let end = position(b), end >= start else { return nil }
    return start..<(min(end, size - 1) + 1)
  }

  /// A byte position (1*DIGIT); one past UInt64 is UInt64.max, which is past any content anyway. Nil if not digits.
  private static func position(_ text: String) -> UInt64? {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return UInt64(text) ?? .max
  }
}

import Foundation
