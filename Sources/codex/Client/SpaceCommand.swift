import ArgumentParser
import CodexClient

/// `codex space`: the node's block count and storage quota.
struct SpaceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "space", abstract: "Show a running node's stored block count and storage quota.")

  @OptionGroup var client: ClientOptions

  @Flag(help: "Print the raw numbers as JSON.")
  var json = false

  func run() async throws {
    let space = try await ClientSession.run(client) { api, _ throws(CodexClientError) in try await api.space() }
    if json {
      ClientSession.printLine(
        "{\"totalBlocks\":\(space.totalBlocks),\"quotaMaxBytes\":\(space.quotaMaxBytes),"
          + "\"quotaUsedBytes\":\(space.quotaUsedBytes),\"quotaReservedBytes\":\(space.quotaReservedBytes)}")
    } else {
      ClientSession.printLine(OutputFormat.space(space))
    }
  }
}
