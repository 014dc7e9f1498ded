import ArgumentParser
import CodexClient

/// `codex verifiable CID`: builds the verifiable manifest of a protected dataset stored on a running node
/// (`POST /data/{cid}/verifiable`) and prints its CID.
struct VerifiableCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verifiable",
    abstract: "Build the verifiable manifest (slot roots, verify root) of a protected dataset and print its CID.",
    discussion: """
      CID must be a protected manifest (see `codex protect`). The node cuts the dataset into K + M slots, hashes \
      every block with Poseidon2 and stores the slot trees; this takes a while for large datasets.
      """)

  @OptionGroup var options: ClientOptions

  @Argument(help: ArgumentHelp("The protected dataset's manifest CID.", valueName: "cid"))
  var cid: String

  func run() async throws {
    let cid = self.cid
    let verifiable = try await ClientSession.run(options) { client, _ throws(CodexClientError) in
      try await client.makeVerifiable(cid: cid)
    }
    print(verifiable)
  }
}
