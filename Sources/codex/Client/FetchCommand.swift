import ArgumentParser
import CodexClient

/// `codex fetch CID`: has the node download a dataset from its peers into its own repo
/// (`POST /data/{cid}/network`), and follows the download to its end.
struct FetchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fetch",
    abstract: "Download a dataset from the network into a running node's repo.",
    discussion: """
      The node fetches the manifest and then every block from its connected peers, in the background: the \
      download goes on if this command is interrupted, and resumes when the node restarts. This command waits \
      for the end (with a progress bar on a terminal), prints the CID when every block is stored, and fails with \
      the node's reason otherwise. With --no-wait it returns once the download started.
      """)

  @OptionGroup var client: ClientOptions

  @Argument(help: ArgumentHelp("The manifest CID.", valueName: "cid"))
  var cid: String

  @Flag(help: "Return once the download started instead of waiting for its end.")
  var noWait = false

  func run() async throws {
    try await ClientSession.run(client) { api, environment throws(CodexClientError) in
      if noWait {
        _ = try await api.fetchInBackground(cid: cid)
      } else {
        _ = try await api.fetch(cid: cid, progress: ProgressReporter.make(environment: environment))
      }
    }
    if !noWait { ClientSession.printLine(cid) }
  }
}
