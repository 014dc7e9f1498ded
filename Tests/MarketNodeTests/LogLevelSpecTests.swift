import Logging
import Testing

@testable import codex

/// nim-codex's chronicles log-level specs (`DEBUG`, `DEBUG;TRACE:codex,libp2p`): every part is checked.
@Suite struct LogLevelSpecTests {
  @Test func mainLevelAndTopicParts() throws {
    #expect(try LogSetup.mainLevel("debug") == .debug)
    #expect(try LogSetup.mainLevel("DEBUG;TRACE:codex,libp2p") == .debug)
    #expect(try LogSetup.mainLevel(" WARN ; TRACE : codex ") == .warning)
    #expect(try LogSetup.mainLevel("TRACE:codex") == nil)  // topics only: the level stays as it is
    #expect(try LogSetup.level("TRACE:codex") == .info)  // at start: the default
    for bad in ["", ";;;", "x:y:z", "chatty", "DEBUG;TRACE:", "DEBUG;LOUD:codex", "DEBUG;TRACE:codex,,x"] {
      #expect(throws: SettingSources.ConfigError.self, "\(bad)") { try LogSetup.mainLevel(bad) }
    }
  }
}
