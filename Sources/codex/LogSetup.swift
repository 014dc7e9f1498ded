import Foundation
import Logging

/// Configures swift-log once for the process from `--log-level` and `--log-format`.
enum LogSetup {
  static func level(_ spec: String) throws -> Logger.Level {
    // nim-codex accepts chronicles specs like "DEBUG;TRACE:codex"; the first, topic-less part sets the level.
    let main = spec.split(separator: ";").first(where: { !$0.contains(":") }).map(String.init) ?? "info"
    switch main.lowercased() {
    case "trace": return .trace
    case "debug": return .debug
    case "info": return .info
    case "notice": return .notice
    case "warn", "warning": return .warning
    case "error": return .error
    case "fatal", "critical": return .critical
    default:
      throw SettingSources.ConfigError(description: "--log-level: '\(spec)' is not one of trace, debug, info, notice, warn, error, fatal")
    }
  }

  static func bootstrap(level: Logger.Level, format: String) throws {
    switch format.lowercased() {
    case "auto", "colors", "nocolors":
      LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = level
        return h
      }
    case "json":
      LoggingSystem.bootstrap { label in
        var h = JSONLogHandler(label: label)
        h.logLevel = level
        return h
      }
    case "none":
      LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
    default:
      throw SettingSources.ConfigError(description: "--log-format: '\(format)' is not one of auto, colors, nocolors, json, none")
    }
  }
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
