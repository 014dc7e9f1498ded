import ArgumentParser
import CodexClient

/// `codex download CID [-o FILE] [--network]`: streams a dataset to a file or stdout.
struct DownloadCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "download",
    abstract: "Download a dataset by CID to a file or standard output.",
    discussion: """
      Without --network only data stored on the node is served (missing blocks of a local manifest are still \
      fetched); with --network the node fetches the dataset from its peers while streaming. A file given with \
      -o is written under a temporary name and renamed when complete.
      """)

  @OptionGroup var client: ClientOptions

  @Argument(help: ArgumentHelp("The manifest CID.", valueName: "cid"))
  var cid: String

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file"))
  var output: String?

  @Flag(help: "Fetch the dataset from the network (GET /data/{cid}/network/stream).")
  var network = false

  func run() async throws {
    let target: DownloadTarget = output.map { $0 == "-" ? .standardOutput : .file($0) } ?? .standardOutput
    try await ClientSession.run(client) { api, environment throws(CodexClientError) in
      let progress = ProgressReporter.make(environment: environment)
      do throws(CodexClientError) {
        try await api.download(cid: cid, network: network, to: target, progress: progress)
      } catch {
        progress?.abandon()
        throw error
      }
    }
  }
}
