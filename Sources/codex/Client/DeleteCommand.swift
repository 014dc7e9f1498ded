import ArgumentParser
import CodexClient

/// `codex delete CID`: removes a dataset (or a single block) from the node.
struct DeleteCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete", abstract: "Delete a dataset (manifest CID) or a block (block CID) from a running node.")

  @OptionGroup var client: ClientOptions

  @Argument(help: ArgumentHelp("The CID to delete.", valueName: "cid"))
  var cid: String

  func run() async throws {
    try await ClientSession.run(client) { api, _ throws(CodexClientError) in try await api.delete(cid: cid) }
  }
}
