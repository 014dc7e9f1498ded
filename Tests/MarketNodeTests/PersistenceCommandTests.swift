import ArgumentParser
import CodexNode
import Foundation
import Testing

@testable import codex

/// Parses `codex <global> persistence <args>` as the real command line does.
func parsePersistence(global: [String] = [], _ args: [String]) throws -> PersistenceCommand {
  let parsed = try Codex.parseAsRoot(global + ["persistence"] + args)
  return try #require(parsed as? PersistenceCommand, "parsed as \(type(of: parsed))")
}

@Suite struct PersistenceCommandTests {
  @Test func globalOptionsBeforeOrAfterTheSubcommand() throws {
    for args in [
      ["--data-dir", "/tmp/x", "persistence", "--eth-private-key", "/k"],
      ["persistence", "--data-dir", "/tmp/x", "--eth-private-key", "/k"],
      ["daemon", "--data-dir", "/tmp/x", "persistence", "--eth-private-key", "/k"],
    ] {
      let parsed = try Codex.parseAsRoot(args)
      let cmd = try #require(parsed as? PersistenceCommand, "\(args) parsed as \(type(of: parsed))")
      #expect(try cmd.options.resolve(environment: [:]).dataDir == "/tmp/x")
      #expect(try cmd.resolvePersistence(environment: [:]).ethPrivateKeyFile == "/k")
    }
    // Without the subcommand: the plain daemon.
    #expect(try Codex.parseAsRoot(["--data-dir", "/tmp/x"]) is DaemonCommand)
  }

  @Test("config-file keys that neither the node's nor the marketplace's options use are named in a warning")
  func unusedConfigKeys() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let toml = try dir.file(
      "c.toml",
      """
      storage-quota = "1GiB"
      eth-private-key = "/file-key"
      validator = true
      validatr-groups = 8
      """)
    let all = try parsePersistence(global: ["--config-file", toml], []).resolveAll(environment: [:])
    #expect(all.config.storageQuota == 1 << 30)
    #expect(all.persistence.validator)
    #expect(all.warnings.count == 1)
    #expect(all.warnings.first?.contains("key 'validatr-groups' not used by this command") == true)
    let clean = try dir.file("d.toml", "storage-quota = \"1GiB\"\neth-private-key = \"/k\"\n")
    #expect(try parsePersistence(global: ["--config-file", clean], []).resolveAll(environment: [:]).warnings == [])
    // The plain daemon does not use the marketplace's keys.
    let daemon = try #require(try Codex.parseAsRoot(["--config-file", clean]) as? DaemonCommand)
    let sources = try daemon.options.resolveWithSources(environment: [:]).sources
    #expect(sources.unusedFileKeysWarning()?.contains("key 'eth-private-key' not used") == true)
  }

  @Test func providersRepeatableAndCommaSeparated() throws {
    let cmd = try parsePersistence([
      "--eth-private-key", "/k", "--eth-provider", "http://a:1,http://b:2", "--eth-provider", "http://c:3",
    ])
    #expect(try cmd.resolvePersistence(environment: [:]).ethProviders == ["http://a:1", "http://b:2", "http://c:3"])
    let env = try parsePersistence([]).resolvePersistence(environment: [
      "CODEX_ETH_PRIVATE_KEY": "/k", "CODEX_ETH_PROVIDER": "http://e:1, http://f:2",
    ])
    #expect(env.ethProviders == ["http://e:1", "http://f:2"])
  }

  @Test func commandLineBeatsEnvironmentBeatsFile() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let toml = try dir.file(
      "c.toml",
      """
      eth-provider = ["http://file:1"]
      eth-private-key = "/file-key"
      marketplace-address = "0x00000000000000000000000000000000000000f1"
      validator = true
      validator-max-slots = 7
      validator-groups = 8
      validator-group-index = 5
      """)
    let fromFile = try parsePersistence(global: ["--config-file", toml], []).resolvePersistence(environment: [:])
    #expect(fromFile.ethProviders == ["http://file:1"])
    #expect(fromFile.ethPrivateKeyFile == "/file-key")
    #expect(fromFile.marketplaceAddress == "0x00000000000000000000000000000000000000f1")
    #expect(fromFile.validator)
    #expect(fromFile.validatorMaxSlots == 7)
    #expect(fromFile.validatorGroups == 8)
    #expect(fromFile.validatorGroupIndex == 5)

    let env = [
      "CODEX_ETH_PROVIDER": "http://env:1", "CODEX_ETH_PRIVATE_KEY": "/env-key", "CODEX_VALIDATOR_MAX_SLOTS": "9",
      "CODEX_VALIDATOR_GROUP_INDEX": "6",
    ]
    let fromEnv = try parsePersistence(global: ["--config-file", toml], []).resolvePersistence(environment: env)
    #expect(fromEnv.ethProviders == ["http://env:1"])
    #expect(fromEnv.ethPrivateKeyFile == "/env-key")
    #expect(fromEnv.validatorMaxSlots == 9)
    #expect(fromEnv.validatorGroupIndex == 6)
    #expect(fromEnv.validatorGroups == 8)

    let fromCLI = try parsePersistence(
      global: ["--config-file", toml],
      [
        "--eth-provider", "http://cli:1", "--eth-private-key", "/cli-key",
        "--validator-max-slots", "0", "--validator-group-index", "7",
      ]
    ).resolvePersistence(environment: env)
    #expect(fromCLI.ethProviders == ["http://cli:1"])
    #expect(fromCLI.ethPrivateKeyFile == "/cli-key")
    #expect(fromCLI.validatorMaxSlots == 0)
    #expect(fromCLI.validatorGroupIndex == 7)
  }

  @Test func invalidValuesAreConfigErrors() throws {
    for args in [
      [String](),  // no account
      ["--eth-private-key", "/k", "--validator-groups", "1"],
      ["--eth-private-key", "/k", "--validator-groups", "4", "--validator-group-index", "4"],
      ["--eth-private-key", "/k", "--validator-max-slots", "lots"],
      ["--eth-private-key", "/k", "--eth-provider", "ws://localhost:8545"],
      ["--eth-account", hardhatAddress0],
      ["--eth-private-key", "/k", "--max-priority-fee-per-gas", "1e9"],
    ] {
      #expect(throws: SettingSources.ConfigError.self, "\(args)") {
        _ = try parsePersistence(args).resolvePersistence(environment: [:])
      }
    }
  }
}
