import ArgumentParser
import CodexClient
import CodexNode
import CodexStore
import Foundation
import Logging

/// `codex verify-repo`: checks a stopped node's repo (like `ipfs repo verify`): the quota counters against the
/// stored blocks, the pack files against their committed lengths, every manifest, and (unless `--quick`) every
/// block's bytes against its CID.
struct VerifyRepoCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify-repo",
    abstract: "Check the repo of a stopped node: quota, pack files, manifests and every block's bytes.",
    discussion: """
      Opening the repo runs the same crash recovery as starting the node (an upload that never finished is \
      rolled back). Exits 0 when the repo is consistent, 1 when problems were found or it cannot be opened. \
      Datasets whose blocks are not all stored (a network download that did not finish) are listed but are no \
      problem: reads fetch the rest from peers.
      """)

  @Option(name: [.customShort("d"), .long], help: "Data directory (default ~/.cache/codex).") var dataDir: String?
  @Option(help: "TOML configuration file (its data-dir is used).") var configFile: String?
  @Flag(help: "Skip reading and hashing every block (checks metadata and pack lengths only).") var quick = false

  func run() async throws {
    let dir: String
    do {
      let src = try SettingSources(configFile: configFile, environment: ProcessInfo.processInfo.environment)
      dir = try src.string("data-dir", cli: dataDir).map(NodeOptions.expandTilde) ?? NodeConfig.defaultDataDir
    } catch {
      Self.fail("\(error)")
    }
    let repoDir = NodeConfig(dataDir: dir).repoDir
    guard FileManager.default.fileExists(atPath: repoDir + "/repo.sqlite") else {
      Self.fail("there is no repo in \(dir) (no \(repoDir)/repo.sqlite); give the node's --data-dir")
    }
    let logger = Logger(label: "codex") { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = .warning
      return handler
    }
    let store: RepoStore
    do {
      // The quota is the node's setting, not the repo's: do not judge the repo by a default.
      store = try RepoStore(config: RepoConfig(directory: repoDir, quotaMaxBytes: .max), logger: logger)
    } catch {
      Self.fail("cannot open the repo: \(error)")
    }
    let started = ContinuousClock.now
    let report: RepoReport
    do {
      let progress =
        quick ? nil : ProgressReporter.make(label: "verifying", environment: ProcessInfo.processInfo.environment)
      progress?.start(total: Int64(clamping: try await store.space().quotaUsedBytes))
      report = try await store.check(deep: !quick) { progress?.advance(by: $0) }
      progress?.finish()
    } catch {
      await store.close()
      Self.fail("the check stopped: \(error)")
    }
    await store.close()
    let seconds = (ContinuousClock.now - started) / .seconds(1)
    print(
      "repo \(repoDir): \(report.blocks) blocks, \(ByteFormat.bytes(Int64(clamping: report.bytes))), "
        + "\(report.manifests) dataset(s); "
        + (quick ? "bytes not read (--quick)" : "\(report.hashedBlocks) blocks read and hashed")
        + String(format: " in %.1f s", seconds))
    for d in report.incomplete {
      print(
        "incomplete: \(d.manifest) has \(d.localBlocks) of \(d.totalBlocks) blocks here "
          + "(POST /api/codex/v1/data/\(d.manifest)/network fetches the rest; DELETE removes it)")
    }
    guard report.problems.isEmpty else {
      for p in report.problems { print("problem: \(p)") }
      print("\(report.problems.count) problem(s) found")
      // Not `throw ExitCode.failure`: in the release build, ArgumentParser's exit path (which renders this
      // command's usage text first) hung or aborted in the Swift runtime's metadata locks, nearly every time, on
      // this machine kind (a futex wait that never ends, or glibc's "e != ESRCH || !robust" assertion).
      Foundation.exit(1)
    }
    print("consistent")
  }

  static func fail(_ message: String) -> Never {
    Terminal.write("codex: error: \(message)\n", to: 2)
    Foundation.exit(1)
  }
}
