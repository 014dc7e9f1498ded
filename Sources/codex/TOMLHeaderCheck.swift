/// Finds the one kind of malformed TOML that TOMLKit (toml++) cannot refuse without crashing: a table header whose
/// name does not start with a key character (`[`, `[[`, `[.]`, `[[ [` on a line of their own). Its parser asserts on
/// those (`parse_key`: "is_bare_key_character(*cp) || is_string_delimiter(*cp)") and the process aborts, so a typo in
/// a config file killed `codex` with a C++ assertion instead of an error. Everything else is left to TOMLKit.
///
/// The scan follows just enough of TOML to know where a line starts a statement: strings (basic, literal and their
/// multi-line forms), comments, and the brackets and braces of values, which may span lines.
enum TOMLHeaderCheck {
  /// The 1-based line of the first table header without a name, or nil.
  static func firstNamelessHeader(in text: String) -> Int? {
    let s = Array(text.unicodeScalars)
    var i = 0
    var line = 1
    var depth = 0  // open [ and { of a value
    var statementStart = true  // at depth 0, nothing but whitespace since the line began

    func at(_ j: Int) -> Unicode.Scalar? { j < s.count ? s[j] : nil }
    func startsWith(_ t: String, _ j: Int) -> Bool {
      var k = j
      for c in t.unicodeScalars {
        guard at(k) == c else { return false }
        k += 1
      }
      return true
    }
    func isKeyStart(_ c: Unicode.Scalar?) -> Bool {
      guard let c else { return false }
      return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
        || c == "\"" || c == "'" || c == "]"
    }

    while i < s.count {
      let c = s[i]
      if c == "\n" {
        line += 1
        i += 1
        if depth == 0 { statementStart = true }
        continue
      }
      if c == " " || c == "\t" || c == "\r" {
        i += 1
        continue
      }
      if c == "#" {
        while i < s.count, s[i] != "\n" { i += 1 }
        continue
      }
      if statementStart && c == "[" {
        var j = i + 1
        if at(j) == "[" { j += 1 }
        while at(j) == " " || at(j) == "\t" { j += 1 }
        if !isKeyStart(at(j)) { return line }
        // A header is one line; the rest of it (name, closing brackets, a comment) is TOMLKit's to check.
        while i < s.count, s[i] != "\n" { i += 1 }
        continue
      }
      statementStart = false
      if c == "\"" || c == "'" {
        let triple = String(c) + String(c) + String(c)
        if startsWith(triple, i) {
          i += 3
          while i < s.count, !startsWith(triple, i) {
            if c == "\"" && s[i] == "\\" { i += 1 }  // an escape: the next character is not the end
            if at(i) == "\n" { line += 1 }
            i += 1
          }
          i += 3
        } else {
          i += 1
          while i < s.count, s[i] != c, s[i] != "\n" {
            if c == "\"" && s[i] == "\\" && at(i + 1) != "\n" { i += 1 }
            i += 1
          }
          if at(i) == c { i += 1 }  // an unterminated string ends at the line's end (TOMLKit reports it)
        }
        continue
      }
      if c == "[" || c == "{" {
        depth += 1
      } else if c == "]" || c == "}" {
        depth = max(0, depth - 1)
      }
      i += 1
    }
    return nil
  }
}
