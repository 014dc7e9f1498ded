import Foundation
import Testing

@testable import codex

/// `--block-retries` reaches the node configuration (it used to be validated and then dropped); so does the hidden
/// `--block-passes`.
@Suite struct BlockRetriesOptionTests {
  @Test func defaultCommandLineAndEnvironment() throws {
    let plain = try #require(try Codex.parseAsRoot(["--data-dir", "/tmp/x"]) as? DaemonCommand)
    #expect(try plain.options.resolve(environment: [:]).blockRetries == 3000)
    let cli = try #require(
      try Codex.parseAsRoot(["--data-dir", "/tmp/x", "--block-retries", "7"]) as? DaemonCommand)
    #expect(try cli.options.resolve(environment: [:]).blockRetries == 7)
    #expect(try plain.options.resolve(environment: ["CODEX_BLOCK_RETRIES": "12"]).blockRetries == 12)
    let bad = try #require(
      try Codex.parseAsRoot(["--data-dir", "/tmp/x", "--block-retries", "lots"]) as? DaemonCommand)
    #expect(throws: (any Error).self) { try bad.options.resolve(environment: [:]) }
  }

  @Test func blockPassesDefaultCommandLineAndEnvironment() throws {
    let plain = try #require(try Codex.parseAsRoot(["--data-dir", "/tmp/x"]) as? DaemonCommand)
    #expect(try plain.options.resolve(environment: [:]).blockPassesPerPeer == nil)
    let cli = try #require(
      try Codex.parseAsRoot(["--data-dir", "/tmp/x", "--block-passes", "4"]) as? DaemonCommand)
    #expect(try cli.options.resolve(environment: [:]).blockPassesPerPeer == 4)
    #expect(try plain.options.resolve(environment: ["CODEX_BLOCK_PASSES": "2"]).blockPassesPerPeer == 2)
    let bad = try #require(
      try Codex.parseAsRoot(["--data-dir", "/tmp/x", "--block-passes", "0"]) as? DaemonCommand)
    #expect(throws: (any Error).self) { try bad.options.resolve(environment: [:]) }
  }
}
