import Foundation
import Logging
import Synchronization

/// Configures swift-log once for the process from `--log-level` and `--log-format`.
enum LogSetup {
  /// The level a `--log-level` spec sets (info when it names none).
  static func level(_ spec: String) throws -> Logger.Level {
    try mainLevel(spec) ?? .info
  }

  /// The topic-less level of a chronicles spec as nim-codex takes it (`DEBUG`, `DEBUG;TRACE:codex,libp2p`), nil
  /// when it has only topic parts. Every part is checked: `LEVEL` or `LEVEL:topic,...` with a known level and at
  /// least one topic. Topic parts are accepted for compatibility but change nothing (one level for the process).
  /// - Throws: `ConfigError` naming the part that is not a level.
  static func mainLevel(_ spec: String) throws -> Logger.Level? {
    func bad(_ why: String) -> SettingSources.ConfigError {
      SettingSources.ConfigError(
        description:
          "--log-level: '\(spec)' \(why) (a level is one of trace, debug, info, notice, warn, error, fatal; topics as in DEBUG;TRACE:codex)"
      )
    }
    let parts = spec.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard !parts.isEmpty else { throw bad("names no level") }
    var main: Logger.Level? = nil
    for part in parts {
      let pieces = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      guard let level = named(pieces[0]) else { throw bad("has '\(pieces[0])', which is not a level") }
      if pieces.count == 2 {
        let topics = pieces[1].split(separator: ",", omittingEmptySubsequences: false).map {
          $0.trimmingCharacters(in: .whitespaces)
        }
        guard !topics.isEmpty, topics.allSatisfy({ !$0.isEmpty }) else { throw bad("has a part with no topic") }
      } else {
        main = level
      }
    }
    return main
  }

  /// The swift-log level for a chronicles level name, nil for other text.
  static func named(_ name: String) -> Logger.Level? {
    switch name.trimmingCharacters(in: .whitespaces).lowercased() {
    case "trace": return .trace
    case "debug": return .debug
    case "info": return .info
    case "notice": return .notice
    case "warn", "warning": return .warning
    case "error": return .error
    case "fatal", "critical": return .critical
    default: return nil
    }
  }

  /// Bootstraps swift-log; every logger's level is `control`'s, so `POST /debug/chronicles/loglevel` changes it
  /// for the whole process at once.
  static func bootstrap(control: LogLevelControl, format: String) throws {
    try checkFormat(format)
    switch format.lowercased() {
    case "auto", "colors", "nocolors":
      LoggingSystem.bootstrap { label in
        SharedLevelLogHandler(inner: StreamLogHandler.standardError(label: label), control: control)
      }
    case "json":
      LoggingSystem.bootstrap { label in SharedLevelLogHandler(inner: JSONLogHandler(label: label), control: control) }
    default:
      LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
    }
  }

  /// Throws a usage error unless `format` is a `--log-format` value (checked with the other options, so a bad one
  /// is reported like them, before anything starts).
  static func checkFormat(_ format: String) throws {
    guard !["auto", "colors", "nocolors", "json", "none"].contains(format.lowercased()) else { return }
    throw SettingSources.ConfigError(
      description: "--log-format: '\(format)' is not one of auto, colors, nocolors, json, none")
  }
}

/// The process's log level, shared by every logger (see `SharedLevelLogHandler`) and changed at run time by
/// `POST /debug/chronicles/loglevel`.
final class LogLevelControl: Sendable {
  private let raw: Atomic<Int>

  init(_ level: Logger.Level) { raw = Atomic(Self.index(level)) }

  var level: Logger.Level {
    get { Logger.Level.allCases[raw.load(ordering: .relaxed)] }
    set { raw.store(Self.index(newValue), ordering: .relaxed) }
  }

  private static func index(_ level: Logger.Level) -> Int { Logger.Level.allCases.firstIndex(of: level) ?? 2 }
}

/// A handler whose level is the process's shared one (`LogLevelControl`); the rest is `inner`'s.
struct SharedLevelLogHandler<Inner: LogHandler>: LogHandler {
  var inner: Inner
  let control: LogLevelControl

  var logLevel: Logger.Level {
    get { control.level }
    set { control.level = newValue }
  }

  var metadata: Logger.Metadata {
    get { inner.metadata }
    set { inner.metadata = newValue }
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { inner[metadataKey: key] }
    set { inner[metadataKey: key] = newValue }
  }

  func log(event: LogEvent) { inner.log(event: event) }
}

/// One JSON object per line on standard error.
struct JSONLogHandler: LogHandler {
  let label: String
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var obj: [String: String] = [
      "ts": ISO8601DateFormatter().string(from: Date()), "lvl": event.level.rawValue, "msg": "\(event.message)",
      "topic": label,
    ]
    for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { obj[k] = "\(v)" }
    if let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
      FileHandle.standardError.write(data + Data([0x0a]))
    }
  }
}
