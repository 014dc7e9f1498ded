import Foundation
import TOMLKit

/// Where option values come from, in nim-codex's precedence: command line > `CODEX_*` environment > TOML file.
struct SettingSources {
  let environment: [String: String]
  let file: [String: Any]
  /// The config file's path, if one was read.
  private(set) var filePath: String?
  /// The options asked for so far (a box: the sources are passed around by value while options are resolved).
  private let asked = AskedOptions()

  final class AskedOptions {
    var names: Set<String> = []
  }

  /// Errors in the configuration, said so that a person can fix them.
  struct ConfigError: Error, CustomStringConvertible {
    let description: String
  }

  /// Reads the TOML config file, if any.
  init(configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    self.environment = environment
    guard let path = configFile ?? environment["CODEX_CONFIG_FILE"] else {
      file = [:]
      return
    }
    filePath = path
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw ConfigError(description: "cannot read config file \(path): \(error.localizedDescription)")
    }
    if let line = TOMLHeaderCheck.firstNamelessHeader(in: text) {
      throw ConfigError(
        description: "config file \(path) is not valid TOML (line \(line): a [table] header needs a name)")
    }
    do {
      let table = try TOMLTable(string: text)
      let json = table.convert(to: .json)
      file = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
    } catch let e as TOMLParseError {
      throw ConfigError(
        description:
          "config file \(path) is not valid TOML (line \(e.source.begin.line), column \(e.source.begin.column))")
    }
  }

  static func envName(_ option: String) -> String {
    "CODEX_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
  }

  /// The names of the options asked for so far.
  var askedOptions: Set<String> { asked.names }

  /// A warning for the config file's keys that no option of the command asked for (a typo, or an option of another
  /// subcommand): they are ignored. `alsoAsked`: options other sources of the same command asked for. Nil when
  /// every key was used.
  func unusedFileKeysWarning(alsoAsked: Set<String> = []) -> String? {
    let unused = file.keys.filter { !asked.names.contains($0) && !alsoAsked.contains($0) }.sorted()
    guard let filePath, !unused.isEmpty else { return nil }
    let list = unused.map { "'\($0)'" }.joined(separator: ", ")
    return "config file \(filePath): \(unused.count == 1 ? "key" : "keys") \(list) not used by this command (ignored;"
      + " `codex daemon --help` and `codex persistence --help` list the options: keys are their names without"
      + " the dashes)"
  }

  /// One value: the command line's, else the environment's, else the file's.
  /// - Throws: `ConfigError` when the file gives the option a list or a table (it takes one value).
  func string(_ option: String, cli: String?) throws -> String? {
    asked.names.insert(option)
    if let cli { return cli }
    if let env = environment[Self.envName(option)] { return env }
    switch file[option] {
    case nil: return nil
    case let s as String: return s
    case let n as NSNumber: return n.stringValue
    case let other?: throw wrongType(option, other, expected: "one value")
    }
  }

  /// A repeatable value: the command line's list if given, else the environment's (comma-separated), else the file's.
  /// - Throws: `ConfigError` when the file gives the option a table or a list of lists or tables.
  func list(_ option: String, cli: [String]) throws -> [String]? {
    asked.names.insert(option)
    if !cli.isEmpty { return cli }
    if let env = environment[Self.envName(option)] {
      return env.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }
    switch file[option] {
    case nil: return nil
    case let s as String: return [s]
    case let items as [Any]:
      return try items.map { item in
        switch item {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: throw wrongType(option, item, expected: "a list of values")
        }
      }
    case let other?: throw wrongType(option, other, expected: "a value or a list of values")
    }
  }

  /// A flag: true on the command line, else the environment's or the file's boolean.
  func flag(_ option: String, cli: Bool) throws -> Bool {
    asked.names.insert(option)
    if cli { return true }
    if let env = environment[Self.envName(option)] { return try Self.parseBool(env, option) }
    switch file[option] {
    case nil: return false
    case let b as Bool: return b
    case let s as String: return try Self.parseBool(s, option)
    case let other?: throw wrongType(option, other, expected: "true or false")
    }
  }

  /// The error for a config-file value of a type the option does not take (before, such a value was ignored
  /// without a word and the default used).
  private func wrongType(_ option: String, _ value: Any, expected: String) -> ConfigError {
    let kind: String
    switch value {
    case is [Any]: kind = "a list"
    case is [String: Any]: kind = "a table"
    case is NSNumber: kind = "a number"
    default: kind = "a value of another type"
    }
    return ConfigError(
      description: "config file \(filePath ?? "?"): '\(option)' takes \(expected), not \(kind)")
  }

  static func parseBool(_ s: String, _ option: String) throws -> Bool {
    switch s.lowercased() {
    case "true", "1", "yes", "on": return true
    case "false", "0", "no", "off", "": return false
    default: throw ConfigError(description: "--\(option): '\(s)' is not true or false")
    }
  }

  /// A size with an optional binary suffix: `1024`, `500MiB`, `20g`, `1TB` (suffixes are powers of 1024, as nim-codex's
  /// parseSize).
  static func parseSize(_ text: String, option: String) throws -> UInt64 {
    let s = text.trimmingCharacters(in: .whitespaces).lowercased()
    let digits = s.prefix(while: { $0.isNumber })
    let unit = s.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
    let multipliers: [String: UInt64] = [
      "": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
      "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
    ]
    guard let n = UInt64(digits), let m = multipliers[unit] else {
      throw ConfigError(description: "--\(option): '\(text)' is not a size (examples: 1048576, 500MiB, 20GiB)")
    }
    let (v, overflow) = n.multipliedReportingOverflow(by: m)
    guard !overflow else { throw ConfigError(description: "--\(option): '\(text)' is too large") }
    return v
  }

  /// The longest duration an option takes: 100 years. Longer ones are refused rather than overflowing later
  /// (a sleep of 9223372036854775807 s traps; any TTL this long already means "never").
  static let longestDuration = Duration.seconds(100 * 365 * 86_400)

  /// A duration such as `30d`, `10m`, `1h30m`, `45s`, `2w` or a plain number of seconds; at most 100 years, never
  /// negative.
  static func parseDuration(_ text: String, option: String) throws -> Duration {
    let total = try parseDurationTerms(text, option: option)
    guard total <= longestDuration else {
      throw ConfigError(description: "--\(option): '\(text)' is too long (at most 100 years, e.g. 5200w)")
    }
    return total
  }

  /// The sum of the terms of `text`; `.seconds(Int64.max)` once it is longer than `longestDuration`.
  private static func parseDurationTerms(_ text: String, option: String) throws -> Duration {
    let s = text.trimmingCharacters(in: .whitespaces).lowercased()
    if let n = UInt64(s) { return n > UInt64(Int64.max) ? .seconds(Int64.max) : .seconds(Int64(n)) }
    let units: [(String, Int64)] = [("w", 604_800), ("d", 86_400), ("h", 3_600), ("ms", -1), ("m", 60), ("s", 1)]
    var total = Duration.zero
    var rest = Substring(s)
    guard !rest.isEmpty else { throw ConfigError(description: "--\(option): empty duration") }
    while !rest.isEmpty {
      let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
      guard !digits.isEmpty else {
        throw ConfigError(description: "--\(option): '\(text)' is not a duration (examples: 30d, 10m, 1h30m, 45s)")
      }
      guard let n = Int64(digits) else { return .seconds(Int64.max) }  // too long
      rest = rest.dropFirst(digits.count)
      guard let (unit, secs) = units.first(where: { rest.hasPrefix($0.0) }) else {
        throw ConfigError(
          description: "--\(option): '\(text)' is not a duration: unknown unit (use w, d, h, m, s or ms)")
      }
      rest = rest.dropFirst(unit.count)
      let (seconds, overflow) = n.multipliedReportingOverflow(by: max(secs, 1))
      guard !overflow else { return .seconds(Int64.max) }  // too long
      total += secs < 0 ? .milliseconds(n) : .seconds(seconds)
      guard total <= longestDuration else { return total }
    }
    return total
  }
}
