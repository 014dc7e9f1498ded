/// Text rendering of list and space answers for the command line. Pure functions.
public enum OutputFormat {
  /// A table with a header row: CID, size, block size, protection flag, filename, mimetype. One line per item,
  /// columns separated by two spaces, no trailing spaces. An empty list gives `"No datasets stored."`.
  public static func dataTable(_ items: [DataItem]) -> String {
    guard !items.isEmpty else { return "No datasets stored." }
    var rows: [[String]] = [["CID", "SIZE", "BLOCK", "EC", "FILENAME", "MIMETYPE"]]
    for item in items {
      let m = item.manifest
      rows.append([
        item.cid, ByteFormat.bytes(m.datasetSize), ByteFormat.bytes(m.blockSize), m.protected ? "yes" : "no",
        m.filename.map(sanitize) ?? "-", m.mimetype.map(sanitize) ?? "-",
      ])
    }
    return table(rows)
  }

  /// `key: value` lines for `GET /space`, each size with its exact byte count.
  public static func space(_ s: SpaceInfo) -> String {
    func size(_ n: Int64) -> String { "\(ByteFormat.bytes(n)) (\(n) bytes)" }
    return table(
      [
        ["Total blocks:", "\(s.totalBlocks)"],
        ["Quota:", size(s.quotaMaxBytes)],
        ["Used:", size(s.quotaUsedBytes)],
        ["Reserved:", size(s.quotaReservedBytes)],
        ["Free:", size(s.quotaFreeBytes)],
      ])
  }

  /// Left-aligned columns padded to the widest cell, two spaces apart; the last column is not padded.
  static func table(_ rows: [[String]]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows {
      for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    return rows.map { row in
      var line = ""
      for (i, cell) in row.enumerated() {
        if i == row.count - 1 {
          line += cell
        } else {
          line += cell + String(repeating: " ", count: widths[i] - cell.count + 2)
        }
      }
      while line.hasSuffix(" ") { line.removeLast() }
      return line
    }.joined(separator: "\n")
  }

  /// Replaces control characters (which could mess up a terminal) with `?`.
  static func sanitize(_ text: String) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
  }
}

/// Builds and checks the headers of an upload.
public enum UploadHeaders {
  /// `attachment; filename="<name>"`.
  /// - Throws: `CodexClientError.invalidArgument` for an empty name or one containing control characters or `"`,
  ///   which cannot be carried in the header.
  public static func contentDisposition(filename: String) throws(CodexClientError) -> String {
    guard !filename.isEmpty else { throw .invalidArgument("the filename must not be empty") }
    guard !filename.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\"" }) else {
      throw .invalidArgument("the filename must not contain control characters or '\"'")
    }
    return "attachment; filename=\"\(filename)\""
  }

  /// Checks a MIME type's syntax (`type/subtype`, optional parameters) before sending it. The node decides
  /// whether it knows the type.
  public static func checkMimetype(_ mime: String) throws(CodexClientError) -> String {
    let trimmed = mime.trimmingWhitespace()
    let main = trimmed.split(separator: ";", maxSplits: 1).first.map(String.init)?.trimmingWhitespace() ?? ""
    let parts = main.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
      !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value >= 0x7F })
    else {
      throw .invalidArgument("'\(mime)' is not a MIME type (expected type/subtype, e.g. text/plain)")
    }
    return trimmed
  }

  /// The last path component of `path` (the default upload filename), or nil for `-`/empty.
  public static func defaultFilename(forPath path: String) -> String? {
    if path == "-" || path.isEmpty { return nil }
    let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
    let name = trimmed.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
    return name.isEmpty || name == "." || name == ".." ? nil : name
  }
}
