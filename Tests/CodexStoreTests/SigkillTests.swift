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
    let points = ["", "pack-written", "pack-synced", "rows-committed", "", "delete-committed", "punched", ""]
    for (round, point) in points.enumerated() {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: tool)
      process.arguments = [dir.path, String(UInt64.random(in: 1...UInt64.max, using: &rng))]
      if !point.isEmpty { process.arguments! += [point, String(Int.random(in: 1...12, using: &rng))] }
      let out = Pipe()
      process.standardOutput = out
      process.standardError = FileHandle.nullDevice
      try process.run()
      // Wait until it is working, then let it run a random while.
      let reader = out.fileHandleForReading
      var buffer = Data()
      let deadline = Date().addingTimeInterval(30)
      while !String(decoding: buffer, as: UTF8.self).contains("ready\n"), Date() < deadline {
        let chunk = reader.availableData
        if chunk.isEmpty { break }
        buffer.append(chunk)
      }
      if point.isEmpty {
        try await Task.sleep(for: .milliseconds(Int.random(in: 150...900, using: &rng)))
        kill(process.processIdentifier, SIGKILL)
      } else {
        // It kills itself; a stuck tool is killed after a while (and the round still checks the repo).
        for _ in 0..<300 where process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning, "round \(round): never reached \(point)")
        kill(process.processIdentifier, SIGKILL)
      }
      process.waitUntilExit()
      #expect(process.terminationReason == .uncaughtSignal, "round \(round): the tool stopped by itself")
      buffer.append(reader.readDataToEndOfFile())
      for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
        if line.hasPrefix("C ") { mustExist.insert(String(line.dropFirst(2))); totalCommits += 1 }
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
