import ArgumentParser
import CodexClient

/// `codex list`: the datasets stored on the node.
struct ListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List the datasets stored on a running node.")

  @OptionGroup var client: ClientOptions

  @Flag(name: [.short, .long], help: "Print only the CIDs, one per line.")
  var quiet = false

  func run() async throws {
    let items = try await ClientSession.run(client) { api, _ throws(CodexClientError) in try await api.list() }
    if quiet {
      for item in items { ClientSession.printLine(item.cid) }
    } else {
      ClientSession.printLine(OutputFormat.dataTable(items))
    }
  }
}
