import ArgumentParser
import CodexClient

/// `codex protect CID [--nodes N] [--tolerance T]`: erasure-codes a dataset stored on a running node
/// (`POST /data/{cid}/protect`) and prints the protected manifest CID.
struct ProtectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "protect",
    abstract: "Erasure-code a dataset stored on a running node and print the protected manifest CID.",
    discussion: """
      Uses K = nodes - tolerance data blocks and M = tolerance parity blocks per group (Leopard Reed-Solomon, \
      nim-codex's stepped layout); Codex requires 1 < K >= M. Downloading the printed CID returns the original \
      bytes, recovering up to M lost blocks per group.
      """)

  @OptionGroup var options: ClientOptions

  @Argument(help: ArgumentHelp("The plain dataset's manifest CID.", valueName: "cid"))
  var cid: String

  @Option(help: "Number of nodes (K + M).")
  var nodes = 3

  @Option(help: "Number of blocks per group that may be lost (M).")
  var tolerance = 1

  func validate() throws {
    guard tolerance > 0 else { throw ValidationError("--tolerance must be positive") }
    let (k, overflow) = nodes.subtractingReportingOverflow(tolerance)
    guard !overflow, k > 1, k >= tolerance else {
      throw ValidationError("need 1 < nodes - tolerance >= tolerance, got nodes=\(nodes) tolerance=\(tolerance)")
    }
  }

  func run() async throws {
    let (cid, nodes, tolerance) = (self.cid, self.nodes, self.tolerance)
    let protected = try await ClientSession.run(options) { client, _ throws(CodexClientError) in
      try await client.protect(cid: cid, nodes: nodes, tolerance: tolerance)
    }
    print(protected)
  }
}
