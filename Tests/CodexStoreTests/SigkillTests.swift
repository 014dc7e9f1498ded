import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexStore

/// Multi-process crash drill: `StoreCrashTool` works on a repo and is killed with SIGKILL at random moments; after
/// each kill the repo is reopened here and checked.
@Suite("RepoStore SIGKILL")
struct SigkillTests {
  /// The built `StoreCrashTool`, beside the test bundle (or in `$SWIFT_BIN_PATH`).
  static func crashTool() -> String? {
    var dirs: [String] = []
    if let bin = ProcessInfo.processInfo.environment["SWIFT_BIN_PATH"] { dirs.append(bin) }
    dirs.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
    dirs.append(Bundle.main.bundleURL.deletingLastPathComponent().path)
    for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/StoreCrashTool") {
      return d + "/StoreCrashTool"
    }
    return nil
  }

  /// Starts `args[0]` with `args`, its stdout in a new file at `stdout` and stderr beside it (`.err`).
  static func spawn(_ args: [String], stdout: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stdout + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, args[0], &actions, nil, &argv, environ)
    guard rc == 0 else { throw StoreError.io("posix_spawn \(args[0]) failed: \(rc)") }
    return pid
  }

  @Test func repoIsConsistentAfterRandomKills() async throws {
    guard let tool = Self.crashTool() else {
      Issue.record("StoreCrashTool is not built next to the tests; build all products (swift build --build-tests)")
      return
    }
    let dir = TempDir()
    defer { dir.cleanup() }
    var rng = SystemRandomNumberGenerator()
    var mustExist = Set<String>()
    var totalCommits = 0
    // Rounds killed from outside at a random moment, and rounds where the tool kills itself at a named step
    // of the write path (a random number of passes in).
    let points = [
      "", "pack-written", "pack-synced", "rows-committed", "", "delete-committed", "punched", "upload-committed", "",
    ]
    for (round, point) in points.enumerated() {
      // posix_spawn + waitpid rather than Foundation.Process, whose waitUntilExit can hang on Linux when the
      // child dies of a signal. The tool's stdout goes to a file read after it is dead.
      let outPath = dir.path + "-out-\(round).txt"
      defer {
        unlink(outPath)
        unlink(outPath + ".err")
      }
      var args = [tool, dir.path, String(UInt64.random(in: 1...UInt64.max, using: &rng))]
      if !point.isEmpty {
        // "pack-synced" is rare (only loose 64 KiB puts reach it, ~1 action in 20, each costing a few fsyncs):
        // asking for its 12th pass took up to 8 s on a loaded machine and sometimes more than the 20 s the
        // round used to wait, so it is asked for at most 3 times.
        // "upload-committed" (after an upload's commit, before its deferred WAL checkpoint) comes once per upload
        // through the fast path.
        let most = point == "pack-written" ? 12 : point == "pack-synced" || point == "upload-committed" ? 3 : 4
        args += [point, String(Int.random(in: 1...most, using: &rng))]
      }
      let pid = try Self.spawn(args, stdout: outPath)
      var status: Int32 = 0
      func reaped() -> Bool { waitpid(pid, &status, WNOHANG) == pid }
      var dead = false
      // Wait until it is working.
      for _ in 0..<1500 {
        if let text = try? String(contentsOfFile: outPath, encoding: .utf8), text.contains("ready\n") { break }
        if reaped() { dead = true; break }
        try await Task.sleep(for: .milliseconds(20))
      }
      if point.isEmpty {
        try await Task.sleep(for: .milliseconds(Int.random(in: 150...900, using: &rng)))
      } else {
        // It kills itself; a stuck tool is killed after a while (and the round still checks the repo). The wait
        // is by the clock, not by a count of sleeps, which stretch on a loaded machine.
        let deadline = ContinuousClock.now + .seconds(60)
        while !dead && ContinuousClock.now < deadline {
          if reaped() { dead = true } else { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(dead, "round \(round): never reached \(point)")
      }
      if !dead {
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
      }
      let signalled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
      let errors = (try? String(contentsOfFile: outPath + ".err", encoding: .utf8)) ?? ""
      #expect(
        signalled && (status & 0x7f) == SIGKILL,
        "round \(round) (\(point)): the tool stopped by itself (wait status \(status)): \(errors.suffix(2000))")
      let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
      for line in output.split(separator: "\n") {
        if line.hasPrefix("C ") {
          mustExist.insert(String(line.dropFirst(2)))
          totalCommits += 1
        }
        if line.hasPrefix("D ") { mustExist.remove(String(line.dropFirst(2))) }
      }

      let store = try openStore(dir, quota: 48 * 65536, packLimit: 1 << 20)
      let problems = try await store.verify(deep: true)
      #expect(problems.isEmpty, "round \(round): \(problems)")
      let listed = Set(try await store.manifests().map { $0.cid.string })
      #expect(
        mustExist.isSubset(of: listed), "round \(round): committed datasets lost: \(mustExist.subtracting(listed))")
      for (_, manifest) in try await store.manifests() {
        for i in 0..<manifest.blocksCount {
          let (block, proof) = try #require(try await store.getBlock(tree: manifest.treeCid, index: i))
          #expect(proof.verify(leaf: block.cid.multihash, root: manifest.treeCid.multihash))
        }
      }
      #expect(try await store.testingInt("SELECT COUNT(*) FROM pending") == 0)
      // Every unexpired data block belongs to a dataset: nothing leaked from unfinished uploads or deletes
      // (the tool stores its loose blocks with ttl 0).
      let leaked = try await store.testingInt(
        "SELECT COUNT(*) FROM blocks WHERE refcount = 0 AND codec = \(Multicodec.codexBlock.rawValue) AND expiry > \(Int64(Date().timeIntervalSince1970))"
      )
      #expect(leaked == 0, "round \(round): \(leaked) unreferenced blocks left behind")
      await store.close()
    }
    #expect(totalCommits > 0, "the tool never committed an upload before being killed")
  }
}
