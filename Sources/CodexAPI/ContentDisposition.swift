/// Reads the filename out of an upload's `Content-Disposition` header, as nim-codex does.
enum ContentDisposition {
  /// - Returns: nil when the header has no `filename=`.
  /// - Throws: `APIError` 422 "The filename is not valid." for an unterminated, empty or unsafe filename.
  static func filename(from header: String) throws -> String? {
    guard let range = header.range(of: "filename=") else { return nil }
    var value = header[range.upperBound...]
    if let semicolon = value.firstIndex(of: ";") { value = value[..<semicolon] }
    value = value.drop(while: { $0 == " " })
    while value.last == " " { value = value.dropLast() }
    if value.first == "\"" {
      guard value.count >= 2, value.last == "\"" else { throw invalid }
      value = value.dropFirst().dropLast()
    }
    let name = String(value)
    guard !name.isEmpty, name.utf8.count <= 255,
      !name.unicodeScalars.contains(where: {
        $0.value < 0x20 || $0 == "\"" || $0 == "/" || $0 == "\\" || $0.value == 0x7f
      })
    else { throw invalid }
    return name
  }

  static let invalid = APIError(.unprocessableContent, "The filename is not valid.")
}
